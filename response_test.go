package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// got is the part of a ResponseInfo a test can predict.
type gotInfo struct {
	Status    int
	RequestID string
	HeaderID  string
	Attempts  int
}

func infoOf(r agents.ResponseInfo) gotInfo {
	return gotInfo{r.StatusCode, r.RequestID, r.Header.Get("X-Request-Id"), r.Attempts}
}

func TestResponseInfoOfListSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script []fakeapi.Fault
		want   gotInfo
	}{
		{name: "first attempt", want: gotInfo{200, "req_000001", "req_000001", 1}},
		// (Not a dropped connection: net/http re-sends an idempotent
		// request by itself when a reused connection closes unanswered,
		// an attempt the SDK never sees.)
		{name: "after a 503 and a 502",
			script: []fakeapi.Fault{fakeapi.Status(http.StatusServiceUnavailable, ""), fakeapi.Status(http.StatusBadGateway, "")},
			want:   gotInfo{200, "req_000003", "req_000003", 3}},
		{name: "after a body cut off", script: []fakeapi.Fault{fakeapi.Truncate()},
			want: gotInfo{200, "req_000002", "req_000002", 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var retryWaits time.Duration
			srv, c := setup(t, agents.WithHooks(agents.Hooks{OnRetry: func(_ context.Context, ev agents.RetryEvent) {
				mu.Lock()
				retryWaits += ev.Wait
				mu.Unlock()
			}}))
			srv.Script(tt.script...)
			page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, infoOf(page.Response)); diff != "" {
				t.Errorf("Response (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if page.Response.Waited < retryWaits {
				t.Errorf("Waited = %v, less than the retry waits %v", page.Response.Waited, retryWaits)
			}
			if len(tt.script) > 0 && retryWaits <= 0 {
				t.Errorf("no retry wait was reported")
			}
		})
	}
}

// Every page of a walk, with and without prefetch, says how it came.
func TestResponseInfoOfWalkPages(t *testing.T) {
	t.Parallel()
	for _, prefetch := range []bool{false, true} {
		t.Run(map[bool]string{false: "sequential", true: "prefetch"}[prefetch], func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithPrefetch(prefetch))
			srv.Script(fakeapi.Pass(), fakeapi.Status(http.StatusBadGateway, "")) // the second page's first attempt fails
			var got []gotInfo
			for page, err := range c.SessionPages(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, infoOf(page.Response))
			}
			want := []gotInfo{{200, "req_000001", "req_000001", 1}, {200, "req_000003", "req_000003", 2}, {200, "req_000004", "req_000004", 1}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages' Response (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIErrorHeaderAndAttempts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		agent        string
		script       []fakeapi.Fault
		wantStatus   int
		wantAttempts int
		wantHeader   string // X-Request-Id in APIError.Header
	}{
		{name: "404 is not retried", agent: "agt_nobody", wantStatus: 404, wantAttempts: 1, wantHeader: "req_000001"},
		{name: "retries exhausted", script: []fakeapi.Fault{fakeapi.Status(503, ""), fakeapi.Status(503, ""), fakeapi.Status(503, ""), fakeapi.Status(503, "")},
			wantStatus: 503, wantAttempts: 4, wantHeader: "req_000004"},
		{name: "429 too long to wait", script: []fakeapi.Fault{fakeapi.Status(429, "3600")},
			wantStatus: 429, wantAttempts: 1, wantHeader: "req_000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			srv.Script(tt.script...)
			agent := tt.agent
			if agent == "" {
				agent = "agt_customer_support"
			}
			_, err := c.ListSessions(context.Background(), agent, agents.ListSessionsParams{})
			var apiErr *agents.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			got := []any{apiErr.StatusCode, apiErr.Attempts, apiErr.Header.Get("X-Request-Id"), apiErr.Header.Get("Content-Type")}
			want := []any{tt.wantStatus, tt.wantAttempts, tt.wantHeader, "application/json"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("status, attempts, header (-want +got):\n%s", diff)
			}
			// The next call on the same Client is held back by that 429
			// and refused before sending: nothing was sent, no header.
			if tt.wantStatus == 429 {
				_, err := c.ListSessions(context.Background(), agent, agents.ListSessionsParams{})
				if !errors.As(err, &apiErr) || apiErr.Attempts != 0 || apiErr.Header != nil {
					t.Errorf("held call: err = %v, Attempts %d, Header %v; want 0 and nil", err, apiErr.Attempts, apiErr.Header)
				}
			}
		})
	}
}

// Response is how the page was fetched, not part of it: encoding a page
// gives the API's JSON.
func TestResponseInfoIsNotJSON(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(page)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "Response") || strings.Contains(s, "req_") || !strings.HasPrefix(s, `{"sessions":[`) {
		t.Errorf("JSON of a page = %s", s)
	}
}
