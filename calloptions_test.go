package agents_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// each runs fn as ListSessions, SessionPages and AllSessions, so that a
// per-call rule is checked on every entry point. fn returns the first
// error the call or walk ended with.
var entryPoints = []struct {
	name string
	run  func(c *agents.Client, p agents.ListSessionsParams, opts ...agents.CallOption) error
}{
	{"ListSessions", func(c *agents.Client, p agents.ListSessionsParams, opts ...agents.CallOption) error {
		_, err := c.ListSessions(context.Background(), "agt_customer_support", p, opts...)
		return err
	}},
	{"SessionPages", func(c *agents.Client, p agents.ListSessionsParams, opts ...agents.CallOption) error {
		for _, err := range c.SessionPages(context.Background(), "agt_customer_support", p, opts...) {
			if err != nil {
				return err
			}
		}
		return nil
	}},
	{"AllSessions", func(c *agents.Client, p agents.ListSessionsParams, opts ...agents.CallOption) error {
		for _, err := range c.AllSessions(context.Background(), "agt_customer_support", p, opts...) {
			if err != nil {
				return err
			}
		}
		return nil
	}},
}

func TestBadCallOptionsFailBeforeSending(t *testing.T) {
	t.Parallel()
	const secret = "tok_s3cr3t_value"
	tests := []struct {
		name   string
		opts   []agents.CallOption
		params agents.ListSessionsParams
		want   string // in the message
	}{
		{name: "Authorization", opts: []agents.CallOption{agents.WithHeader("Authorization", "Bearer "+secret)}, want: "Authorization cannot be set per call"},
		{name: "authorization lower case", opts: []agents.CallOption{agents.WithHeader("authorization", secret)}, want: "Authorization cannot be set per call"},
		{name: "Host", opts: []agents.CallOption{agents.WithHeader("Host", "evil.example")}, want: "Host cannot be set per call"},
		{name: "User-Agent", opts: []agents.CallOption{agents.WithHeader("user-agent", "x")}, want: "User-Agent cannot be set per call"},
		{name: "Accept-Encoding", opts: []agents.CallOption{agents.WithHeader("Accept-Encoding", "gzip")}, want: "Accept-Encoding cannot be set per call"},
		{name: "Transfer-Encoding", opts: []agents.CallOption{agents.WithHeader("Transfer-Encoding", "chunked")}, want: "Transfer-Encoding cannot be set per call"},
		{name: "CRLF in value", opts: []agents.CallOption{agents.WithHeader("X-Trace", secret+"\r\nX-Injected: 1")}, want: "value of X-Trace contains control characters"},
		{name: "LF in value", opts: []agents.CallOption{agents.WithHeader("X-Trace", secret+"\n")}, want: "control characters"},
		{name: "NUL in value", opts: []agents.CallOption{agents.WithHeader("X-Trace", "a\x00b")}, want: "control characters"},
		{name: "space in name", opts: []agents.CallOption{agents.WithHeader("X Trace", "v")}, want: "not a valid header name"},
		{name: "colon in name", opts: []agents.CallOption{agents.WithHeader("X-Trace:", "v")}, want: "not a valid header name"},
		{name: "empty name", opts: []agents.CallOption{agents.WithHeader("", "v")}, want: "not a valid header name"},
		{name: "negative retries", opts: []agents.CallOption{agents.WithCallMaxRetries(-1)}, want: "WithCallMaxRetries(-1)"},
		{name: "negative attempt timeout", opts: []agents.CallOption{agents.WithCallAttemptTimeout(-time.Second)}, want: "WithCallAttemptTimeout(-1s)"},
		{name: "bad after good", opts: []agents.CallOption{agents.WithHeader("X-Ok", "1"), agents.WithCallMaxRetries(-2)}, want: "WithCallMaxRetries(-2)"},
		{name: "negative MaxItems", params: agents.ListSessionsParams{MaxItems: -1}, want: "MaxItems -1 is negative"},
	}
	for _, ep := range entryPoints {
		for _, tt := range tests {
			t.Run(ep.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				srv, c := setup(t)
				err := ep.run(c, tt.params, tt.opts...)
				var apiErr *agents.APIError
				if !errors.Is(err, agents.ErrInvalidRequest) || errors.As(err, &apiErr) {
					t.Fatalf("err = %v (%T), want a local ErrInvalidRequest", err, err)
				}
				if msg := err.Error(); !strings.HasPrefix(msg, "agents: ") || !strings.Contains(msg, tt.want) {
					t.Errorf("err = %q, want it to start with agents: and hold %q", msg, tt.want)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("err %q quotes the header value", err)
				}
				if n := len(srv.Requests()); n != 0 {
					t.Errorf("server received %d requests, want none", n)
				}
			})
		}
	}
}

// A zero CallOption and a header the SDK does not own are fine.
func TestHarmlessCallOptions(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	var zero agents.CallOption
	if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}, zero, agents.WithHeader("x-tenant", "t1\tt2")); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()[0].Header.Values("X-Tenant"); !cmp.Equal(got, []string{"t1\tt2"}) {
		t.Errorf("X-Tenant = %q", got)
	}
}

func TestWithHeaderIsSentOnEveryAttemptAndPage(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.Script(fakeapi.Status(http.StatusServiceUnavailable, "")) // the first page is retried once
	n := 0
	for _, err := range c.AllSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{},
		agents.WithHeader("X-Trace-Id", "abc"), agents.WithHeader("X-Tag", "a"), agents.WithHeader("x-tag", "b")) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 250 {
		t.Errorf("walked %d sessions, want 250", n)
	}
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("server received %d requests, want 4 (1 retry + 3 pages)", len(reqs))
	}
	for i, r := range reqs {
		got := [][]string{r.Header.Values("X-Trace-Id"), r.Header.Values("X-Tag"), r.Header.Values("Authorization"), r.Header.Values("Accept")}
		want := [][]string{{"abc"}, {"a", "b"}, {"Bearer " + fakeapi.DefaultKey}, {"application/json"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("request %d headers (-want +got):\n%s", i, diff)
		}
	}
	// The options are the call's: a later call without them sends none.
	if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Requests()[4].Header.Get("X-Trace-Id"); got != "" {
		t.Errorf("a call without WithHeader sent X-Trace-Id %q", got)
	}
}

// WithCallMaxRetries overrides the Client's WithMaxRetries both ways, for
// one call and for every page of a walk.
func TestCallMaxRetriesOverridesClient(t *testing.T) {
	t.Parallel()
	const unavailable = http.StatusServiceUnavailable
	tests := []struct {
		name         string
		clientMax    int
		callMax      []agents.CallOption
		failures     int // 503s before the server answers
		wantRequests int
		wantErr      bool
	}{
		{name: "call raises 0 to 4", clientMax: 0, callMax: []agents.CallOption{agents.WithCallMaxRetries(4)}, failures: 4, wantRequests: 5},
		{name: "client 0 alone fails", clientMax: 0, failures: 1, wantRequests: 1, wantErr: true},
		{name: "call lowers 3 to 0", clientMax: 3, callMax: []agents.CallOption{agents.WithCallMaxRetries(0)}, failures: 1, wantRequests: 1, wantErr: true},
		{name: "call lowers 3 to 1", clientMax: 3, callMax: []agents.CallOption{agents.WithCallMaxRetries(1)}, failures: 2, wantRequests: 2, wantErr: true},
		{name: "last option wins", clientMax: 3, callMax: []agents.CallOption{agents.WithCallMaxRetries(0), agents.WithCallMaxRetries(2)}, failures: 2, wantRequests: 3},
	}
	for _, ep := range entryPoints {
		for _, tt := range tests {
			t.Run(ep.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				// A walk would otherwise ride out the 503s past its retries.
				srv, c := setup(t, agents.WithMaxRetries(tt.clientMax), agents.WithWalkRetryBudget(0))
				for range tt.failures {
					srv.Script(fakeapi.Status(unavailable, ""))
				}
				err := ep.run(c, agents.ListSessionsParams{Limit: 100, MaxItems: 100}, tt.callMax...) // one page
				if gotErr := err != nil; gotErr != tt.wantErr {
					t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
				}
				var apiErr *agents.APIError
				if tt.wantErr && (!errors.As(err, &apiErr) || apiErr.StatusCode != unavailable || apiErr.Attempts != tt.wantRequests) {
					t.Errorf("err = %#v, want a 503 *APIError after %d attempts", apiErr, tt.wantRequests)
				}
				if n := len(srv.Requests()); n != tt.wantRequests {
					t.Errorf("server received %d requests, want %d", n, tt.wantRequests)
				}
			})
		}
	}
}

// WithCallAttemptTimeout overrides WithAttemptTimeout both ways. The server
// holds one answer far longer than the short timeout, so that which of the
// two applies is never a matter of timing.
func TestCallAttemptTimeoutOverridesClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		client       time.Duration
		call         []agents.CallOption
		wantRequests int
	}{
		// The hung attempt is cut off and retried.
		{name: "call sets a limit the client lacks", client: 0, call: []agents.CallOption{agents.WithCallAttemptTimeout(20 * time.Millisecond)}, wantRequests: 2},
		// The slow answer is waited for: one request.
		{name: "call lifts the client's limit", client: 20 * time.Millisecond, call: []agents.CallOption{agents.WithCallAttemptTimeout(0)}, wantRequests: 1},
		{name: "call lengthens the client's limit", client: 20 * time.Millisecond, call: []agents.CallOption{agents.WithCallAttemptTimeout(time.Minute)}, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithAttemptTimeout(tt.client))
			if tt.wantRequests == 2 {
				srv.Script(fakeapi.Hang())
			} else {
				srv.Script(fakeapi.Slow(300 * time.Millisecond))
			}
			page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}, tt.call...)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(srv.Requests()); n != tt.wantRequests || page.Response.Attempts != tt.wantRequests {
				t.Errorf("server received %d requests, page says %d attempts; want %d", n, page.Response.Attempts, tt.wantRequests)
			}
		})
	}
}
