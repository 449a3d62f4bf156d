package agentsotel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	"github.com/agentsapi/agents-go/internal/kit"
	agentsotel "github.com/agentsapi/agents-go/otel"
)

// server is the attributes every attempt span and per-call metric has.
var server = a("server.address", "127.0.0.1", "server.port", "PORT")

// attempt is the attributes an attempt span starts with.
func attempt(n int, query string) map[string]any {
	m := with(server,
		"http.request.method", "GET",
		"url.full", "BASE/v2/agents/agt_sales_assistant/sessions"+query,
		"agents.attempt", int64(n),
		"agents.wait", "seconds")
	if n > 1 {
		m["http.request.resend_count"] = int64(n - 1)
	}
	return m
}

func TestRetriedCall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.srv.Script(fakeapi.Status(http.StatusServiceUnavailable, ""), fakeapi.Pass())
	if _, err := e.c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	want := []node{{
		Name: "agents.ListSessions", Kind: "internal", Status: "Unset",
		Attrs: a("agents.agent_key", "agt_sales_assistant", "agents.attempts", int64(2), "agents.waited", "seconds",
			"http.response.status_code", int64(200), "agents.request_id", "req_000002"),
		Events: []event{{"retry", a("agents.attempt", int64(1), "agents.wait", "seconds",
			"http.response.status_code", int64(503), "error.type", "503")}},
		Children: []node{
			{Name: "GET", Kind: "client", Status: "Error",
				Attrs: with(attempt(1, "?limit=2"), "http.response.status_code", int64(503), "agents.request_id", "req_000001", "error.type", "503")},
			{Name: "GET", Kind: "client", Status: "Unset",
				Attrs: with(attempt(2, "?limit=2"), "http.response.status_code", int64(200), "agents.request_id", "req_000002")},
		},
	}}
	if diff := cmp.Diff(want, e.tree()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	wantMetrics := map[string][]point{
		"http.client.request.duration": {
			{Attrs: with(server, "http.request.method", "GET", "http.response.status_code", int64(503), "error.type", "503"), Count: 1},
			{Attrs: with(server, "http.request.method", "GET", "http.response.status_code", int64(200)), Count: 1},
		},
		"agents.client.call.duration": {{Attrs: server, Count: 1}},
		"agents.client.retries":       {{Attrs: with(server, "error.type", "503"), Value: 1}},
	}
	if diff := cmp.Diff(wantMetrics, e.metrics()); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, err := e.c.ListSessions(context.Background(), "agt_nobody", agents.ListSessionsParams{})
	if !errors.Is(err, agents.ErrAgentNotFound) {
		t.Fatalf("err = %v, want ErrAgentNotFound", err)
	}
	want := []node{{
		Name: "agents.ListSessions", Kind: "internal", Status: "Error: " + err.Error(),
		Attrs: a("agents.agent_key", "agt_nobody", "agents.attempts", int64(1), "agents.waited", "seconds",
			"http.response.status_code", int64(404), "agents.request_id", "req_000001", "error.type", "404"),
		Children: []node{{
			Name: "GET", Kind: "client", Status: "Error",
			Attrs: with(attempt(1, ""), "url.full", "BASE/v2/agents/agt_nobody/sessions",
				"http.response.status_code", int64(404), "agents.request_id", "req_000001", "error.type", "404"),
		}},
	}}
	if diff := cmp.Diff(want, e.tree()); diff != "" {
		t.Errorf("spans (-want +got):\n%s", diff)
	}
	wantMetrics := map[string][]point{
		"http.client.request.duration": {{Attrs: with(server, "http.request.method", "GET", "http.response.status_code", int64(404), "error.type", "404"), Count: 1}},
		"agents.client.call.duration":  {{Attrs: with(server, "error.type", "404"), Count: 1}},
	}
	if diff := cmp.Diff(wantMetrics, e.metrics()); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// Each page of a walk is a call of its own, a trace of its own, with
// prefetch or without.
func TestWalk(t *testing.T) {
	t.Parallel()
	for _, prefetch := range []bool{false, true} {
		t.Run(fmt.Sprint("prefetch=", prefetch), func(t *testing.T) {
			t.Parallel()
			e := setup(t, agents.WithPrefetch(prefetch))
			for _, err := range e.c.SessionPages(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{}) {
				if err != nil {
					t.Fatal(err)
				}
			}
			cur1, cur2 := fakeapi.EncodeCursor("ase_sales_assistant_0000099"), fakeapi.EncodeCursor("ase_sales_assistant_0000199")
			var want []node
			for i, q := range []string{"?limit=100", "?limit=100&page_key=" + url.QueryEscape(cur1), "?limit=100&page_key=" + url.QueryEscape(cur2)} {
				id := fmt.Sprintf("req_%06d", i+1)
				want = append(want, node{
					Name: "agents.ListSessions", Kind: "internal", Status: "Unset",
					Attrs: a("agents.agent_key", "agt_sales_assistant", "agents.attempts", int64(1), "agents.waited", "seconds",
						"http.response.status_code", int64(200), "agents.request_id", id),
					Children: []node{{Name: "GET", Kind: "client", Status: "Unset",
						Attrs: with(attempt(1, q), "http.response.status_code", int64(200), "agents.request_id", id)}},
				})
			}
			if diff := cmp.Diff(want, e.tree()); diff != "" {
				t.Errorf("spans (-want +got):\n%s", diff)
			}
			wantMetrics := map[string][]point{
				"http.client.request.duration": {{Attrs: with(server, "http.request.method", "GET", "http.response.status_code", int64(200)), Count: 3}},
				"agents.client.call.duration":  {{Attrs: server, Count: 3}},
			}
			if diff := cmp.Diff(wantMetrics, e.metrics()); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}
		})
	}
}

// Concurrent walks with prefetch and retries: every attempt span hangs
// under its own call, and -race checks the per-call state.
func TestConcurrentWalks(t *testing.T) {
	t.Parallel()
	e := setup(t, agents.WithPrefetch(true))
	e.srv.Script(fakeapi.Status(http.StatusBadGateway, ""), fakeapi.Status(http.StatusServiceUnavailable, ""))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, err := range e.c.SessionPages(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{}) {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	calls, attempts := 0, 0
	for _, n := range e.tree() {
		calls++
		attempts += len(n.Children)
		if n.Attrs["agents.attempts"] != int64(len(n.Children)) {
			t.Errorf("call span with %v attempts has %d attempt spans", n.Attrs["agents.attempts"], len(n.Children))
		}
		if len(n.Events) != len(n.Children)-1 {
			t.Errorf("call span with %d attempt spans has %d retry events", len(n.Children), len(n.Events))
		}
	}
	if calls != 12 || attempts != 14 {
		t.Errorf("%d call spans with %d attempt spans; want 12 with 14", calls, attempts)
	}
}

// A 429 with Retry-After sets the Client-wide hold and moves the pace:
// the 429 counter, the hold histogram and the pacing gauges hear of it.
func TestRateLimited(t *testing.T) {
	t.Parallel()
	e := setup(t, kit.WaitScale(1e-3).(agents.Option))
	e.srv.Script(fakeapi.Status(http.StatusTooManyRequests, "1"), fakeapi.Pass())
	if _, err := e.c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	got := e.metrics()
	for _, name := range []string{"agents.client.pacing.rate", "agents.client.pacing.concurrency"} {
		if len(got[name]) != 1 || got[name][0].Attrs != nil || got[name][0].Value < 0 {
			t.Errorf("%s = %+v, want one value without attributes", name, got[name])
		}
		delete(got, name)
	}
	want := map[string][]point{
		"http.client.request.duration": {
			{Attrs: with(server, "http.request.method", "GET", "http.response.status_code", int64(429), "error.type", "429"), Count: 1},
			{Attrs: with(server, "http.request.method", "GET", "http.response.status_code", int64(200)), Count: 1},
		},
		"agents.client.call.duration": {{Attrs: server, Count: 1}},
		"agents.client.retries":       {{Attrs: with(server, "error.type", "429"), Value: 1}},
		"agents.client.throttled":     {{Attrs: server, Value: 1}},
		"agents.client.hold.duration": {{Count: 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

// A dropped connection is an attempt without a status; a body cut off
// after a 200 is an attempt with both the status and the error.
func TestTransportFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault     fakeapi.Fault
		status    any // of the first attempt; nil for none
		errorType string
	}{
		{fakeapi.Drop(), nil, "connection_closed"},
		{fakeapi.Truncate(), int64(200), "response_incomplete"},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			// A new connection for each request, so that net/http cannot
			// re-send the dropped request by itself.
			e := setup(t, agents.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
			e.srv.Script(tc.fault)
			if _, err := e.c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 2}); err != nil {
				t.Fatal(err)
			}
			roots := e.tree()
			if len(roots) != 1 || len(roots[0].Children) != 2 || len(roots[0].Events) != 1 {
				t.Fatalf("spans = %+v; want one call with two attempts and a retry", roots)
			}
			first := roots[0].Children[0]
			if !strings.HasPrefix(first.Status, "Error: ") || strings.Contains(first.Status, fakeapi.DefaultKey) {
				t.Errorf("first attempt's status = %q, want Error with the error's message", first.Status)
			}
			wantAttrs := with(attempt(1, "?limit=2"), "error.type", tc.errorType)
			if tc.status != nil {
				wantAttrs["http.response.status_code"] = tc.status
				wantAttrs["agents.request_id"] = "req_000001"
			}
			if diff := cmp.Diff(wantAttrs, first.Attrs); diff != "" {
				t.Errorf("first attempt's attributes (-want +got):\n%s", diff)
			}
			if got := roots[0].Events[0].Attrs["error.type"]; got != tc.errorType {
				t.Errorf("retry event's error.type = %v, want %s", got, tc.errorType)
			}
			if roots[0].Status != "Unset" || roots[0].Children[1].Status != "Unset" {
				t.Errorf("call %q, second attempt %q; want both Unset", roots[0].Status, roots[0].Children[1].Status)
			}
			want := []point{{Attrs: with(server, "error.type", tc.errorType), Value: 1}}
			if diff := cmp.Diff(want, e.metrics()["agents.client.retries"]); diff != "" {
				t.Errorf("retries (-want +got):\n%s", diff)
			}
		})
	}
}

// A call that runs out of retries on transport failures fails its span
// with the same error.type as its last attempt.
func TestTransportFailureGivenUp(t *testing.T) {
	t.Parallel()
	e := setup(t, agents.WithMaxRetries(0), agents.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	e.srv.Script(fakeapi.Drop())
	_, err := e.c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{})
	if err == nil {
		t.Fatal("no error after a dropped connection and no retries")
	}
	roots := e.tree()
	if len(roots) != 1 || len(roots[0].Children) != 1 {
		t.Fatalf("spans = %+v; want one call with one attempt", roots)
	}
	call, att := roots[0], roots[0].Children[0]
	if call.Status != "Error: "+err.Error() || call.Attrs["error.type"] != "connection_closed" {
		t.Errorf("call span: status %q, error.type %v; want Error: %v, connection_closed", call.Status, call.Attrs["error.type"], err)
	}
	if _, ok := call.Attrs["http.response.status_code"]; ok {
		t.Errorf("call span has a status code without a response: %v", call.Attrs)
	}
	if att.Attrs["error.type"] != "connection_closed" || !strings.HasPrefix(att.Status, "Error: ") {
		t.Errorf("attempt span: status %q, error.type %v; want Error, connection_closed", att.Status, att.Attrs["error.type"])
	}
}

// Neither spans nor metrics carry the API key, whatever fails.
func TestNoAPIKey(t *testing.T) {
	t.Parallel()
	e := setup(t, kit.WaitScale(1e-3).(agents.Option))
	e.srv.Script(fakeapi.Status(http.StatusTooManyRequests, "1"), fakeapi.Status(http.StatusUnauthorized, ""))
	_, err := e.c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{})
	if !errors.Is(err, agents.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	all := fmt.Sprintf("%+v %+v", e.tree(), e.metrics())
	if strings.Contains(all, fakeapi.DefaultKey) {
		t.Errorf("telemetry holds the API key: %s", all)
	}
}

// Two sets of these hooks on one Client each keep their own per-call
// state: the second call span, opened in the first's context, is its
// child, and each has its own attempt spans.
func TestTwoSetsOfHooks(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	second := agentsotel.Hooks(agentsotel.WithTracerProvider(tp), agentsotel.WithMeterProvider(noop.NewMeterProvider()))
	c, err := agents.NewClient(agents.WithBaseURL(e.srv.URL), agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithHTTPClient(e.srv.Client()), agents.WithMaxRetries(0),
		agents.WithHooks(agentsotel.Hooks(agentsotel.WithTracerProvider(tp), agentsotel.WithMeterProvider(noop.NewMeterProvider()))),
		agents.WithHooks(second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	var shape func(n node) string
	shape = func(n node) string {
		s := n.Name
		for _, k := range n.Children {
			s += " [" + shape(k) + "]"
		}
		return s
	}
	var got []string
	for _, n := range e.tree() {
		got = append(got, shape(n))
	}
	want := []string{"agents.ListSessions [GET] [agents.ListSessions [GET]]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("span trees (-want +got):\n%s", diff)
	}
}

// The SDK's own failures name themselves: an attempt cut off by
// WithAttemptTimeout is a "timeout", a complete 200 body that is not a
// page an "invalid_response", on the call span as on the attempt's.
func TestSDKFailuresNameThemselves(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault fakeapi.Fault
		want  string
	}{
		{"attempt timeout", fakeapi.Hang(), "timeout"},
		{"not a page", fakeapi.Raw(http.StatusOK, "application/json", `{"sessions": 7}`), "invalid_response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, agents.WithMaxRetries(0), agents.WithAttemptTimeout(50*time.Millisecond))
			e.srv.Script(tc.fault)
			if _, err := e.c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{}); err == nil {
				t.Fatal("no error")
			}
			roots := e.tree()
			if len(roots) != 1 || len(roots[0].Children) != 1 {
				t.Fatalf("spans = %+v; want one call with one attempt", roots)
			}
			got := [2]any{roots[0].Attrs["error.type"], roots[0].Children[0].Attrs["error.type"]}
			if diff := cmp.Diff([2]any{tc.want, tc.want}, got); diff != "" {
				t.Errorf("error.type of call and attempt (-want +got):\n%s", diff)
			}
		})
	}
}
