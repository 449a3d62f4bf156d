package agents_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// foreignTransport stands in for what httpmock or an APM agent puts in
// http.DefaultTransport: a RoundTripper that is not an *http.Transport.
type foreignTransport struct{ http.RoundTripper }

// TestNewClientWithForeignDefaultTransport is not parallel: it replaces a
// global that every other test's client may read.
func TestNewClientWithForeignDefaultTransport(t *testing.T) {
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	saved := http.DefaultTransport
	http.DefaultTransport = foreignTransport{saved}
	t.Cleanup(func() { http.DefaultTransport = saved })

	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 3})
	if err != nil || len(page.Sessions) != 3 {
		t.Fatalf("ListSessions = %v, %v; want the docs page", page, err)
	}
}

// TestIteratorsRangedTwiceConcurrently ranges one sequence value from two
// goroutines at once, for every iterator the package returns; -race
// reports any state the sequence shares between its runs.
func TestIteratorsRangedTwiceConcurrently(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	ctx := context.Background()
	params := agents.ListSessionsParams{Limit: 0}
	count := map[string]func() int{
		"SessionPages": func() func() int {
			seq := c.SessionPages(ctx, "agt_sales_assistant", params)
			return func() int {
				n := 0
				for p, err := range seq {
					if err != nil {
						t.Error(err)
						return n
					}
					n += len(p.Sessions)
				}
				return n
			}
		}(),
		"AllSessions": func() func() int {
			seq := c.AllSessions(ctx, "agt_sales_assistant", params)
			return func() int {
				n := 0
				for _, err := range seq {
					if err != nil {
						t.Error(err)
						return n
					}
					n++
				}
				return n
			}
		}(),
	}
	for name, run := range count {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var wg sync.WaitGroup
			got := make([]int, 2)
			for i := range got {
				wg.Go(func() { got[i] = run() })
			}
			wg.Wait()
			if diff := cmp.Diff([]int{250, 250}, got); diff != "" {
				t.Errorf("sessions per run (-want +got):\n%s", diff)
			}
		})
	}
}

// allVerbs is every formatting verb fmt knows, with flags that change
// how values are walked.
var allVerbs = []string{"%v", "%+v", "%#v", "%T", "%t", "%b", "%c", "%d", "%o", "%O", "%q", "%x", "%X", "%U", "%e", "%E", "%f", "%F", "%g", "%G", "%s", "%p", "%+q", "%#x", "% x", "%#U", "%z"}

// TestNoValuePrintsTheKey formats the Client, its value, and every value
// of every exported type the package hands out, under every verb.
func TestNoValuePrintsTheKey(t *testing.T) {
	t.Parallel()
	const key = "sk_live_SECRET_must_not_leak_43"
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	srv.AddKey(key)
	srv.AllowAll(key)
	c := newClient(t, srv, agents.WithAPIKey(key), agents.WithMaxRetries(0), agents.WithWalkRetryBudget(0))
	ctx := context.Background()
	page, _ := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	_, apiErr := c.ListSessions(ctx, "agt_nope", agents.ListSessionsParams{})
	srv.Script(fakeapi.Status(503, ""))
	var walkErr error
	for _, err := range c.AllSessions(ctx, "agt_customer_support", agents.ListSessionsParams{}) {
		walkErr = err
	}
	values := []any{c, *c, page, *page, page.Sessions[0], page.Metadata, apiErr, walkErr,
		agents.WithAPIKey(key), agents.ListSessionsParams{}}
	for _, v := range values {
		for _, verb := range allVerbs {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, "SECRET") {
				t.Errorf("fmt.Sprintf(%q, %T) leaks the key: %s", verb, v, s)
			}
		}
	}
}

func TestCompleteInvalidBodyNotRetried(t *testing.T) {
	t.Parallel()
	unframed := func(body string) fakeapi.Fault {
		f := fakeapi.Raw(200, "application/json", body)
		// No Content-Length and no chunking: the body ends when the
		// connection closes, so a cut-off body looks complete.
		f.Header.Set("Transfer-Encoding", "identity")
		return f
	}
	tests := []struct {
		name    string
		fault   fakeapi.Fault
		retried bool
	}{
		{"empty with Content-Length 0", fakeapi.Raw(200, "application/json", ""), false},
		{"lone brace", fakeapi.Raw(200, "application/json", "{"), false},
		{"open sessions list", fakeapi.Raw(200, "application/json", `{"sessions":[`), false},
		{"framed JSON ends mid-value", fakeapi.Raw(200, "application/json", `{"sessions":[{"id":"a"`), false},
		{"unframed JSON ends mid-value", unframed(`{"sessions":[{"id":"a"`), true},
		{"cut short of its Content-Length", fakeapi.Truncate(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithMaxRetries(1))
			srv.Script(tt.fault, fakeapi.Pass())
			_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			n := len(srv.Requests())
			if tt.retried {
				if err != nil || n != 2 {
					t.Fatalf("err %v after %d requests; want the page on the second", err, n)
				}
				return
			}
			if err == nil || n != 1 {
				t.Fatalf("err %v after %d requests; want an error and no retry", err, n)
			}
			if strings.Count(err.Error(), "agents:") != 1 {
				t.Errorf("error %q does not have exactly one package prefix", err)
			}
		})
	}
}

func TestNotFoundMatchesOnlyByCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     *fakeapi.Fault
		base      string // appended to the server's URL
		wantAgent bool
	}{
		{name: "the server's agent_not_found", wantAgent: true},
		{name: "wrong base path", base: "/wrong"},
		{name: "proxy HTML", fault: ptr(fakeapi.Raw(404, "text/html", "<html>Not Found</html>"))},
		{name: "empty body", fault: ptr(fakeapi.Raw(404, "", ""))},
		{name: "another code", fault: ptr(fakeapi.Raw(404, "application/json", `{"error":{"code":"not_found","message":"no route"}}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			c, err := agents.NewClient(agents.WithBaseURL(srv.URL+tt.base), agents.WithAPIKey(fakeapi.DefaultKey),
				agents.WithHTTPClient(srv.Client()), agents.WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			if tt.fault != nil {
				srv.Script(*tt.fault)
			}
			_, err = c.ListSessions(context.Background(), "agt_nobody", agents.ListSessionsParams{})
			var apiErr *agents.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
				t.Fatalf("err = %v, want a 404 *APIError", err)
			}
			if got := errors.Is(err, agents.ErrAgentNotFound); got != tt.wantAgent {
				t.Errorf("errors.Is(%v, ErrAgentNotFound) = %v, want %v", err, got, tt.wantAgent)
			}
			if hint := strings.Contains(err.Error(), "base URL"); hint == tt.wantAgent {
				t.Errorf("error %q: mentions the base URL = %v, want %v", err, hint, !tt.wantAgent)
			}
			for _, s := range []error{agents.ErrInvalidRequest, agents.ErrUnauthorized, agents.ErrForbidden, agents.ErrRateLimitExceeded} {
				if errors.Is(err, s) {
					t.Errorf("errors.Is(%v, %v) holds", err, s)
				}
			}
		})
	}
}

// TestLargeErrorBodiesReuseConnections: retried 5xx answers with a CDN's
// 100 KiB page must not cost a new connection each.
func TestLargeErrorBodiesReuseConnections(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(3), agents.WithWalkRetryBudget(0))
	page := fakeapi.Raw(503, "text/html", "<html>"+strings.Repeat("x", 100<<10)+"</html>")
	const calls = 10
	for range calls {
		srv.Script(page, page, page, page) // retried three times, then given up
		_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
		var apiErr *agents.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
			t.Fatalf("err = %v, want the 503", err)
		}
	}
	if st := srv.Stats(); st.Requests != 4*calls || st.Conns > 2 {
		t.Errorf("%d requests used %d connections, want 1 (2 at most)", st.Requests, st.Conns)
	}
}

// TestCallerTimeoutNamed: the caller's own http.Client.Timeout is not
// reported as the SDK's attempt timeout.
func TestCallerTimeoutNamed(t *testing.T) {
	t.Parallel()
	for _, attempt := range []time.Duration{0, 30 * time.Second} {
		t.Run(fmt.Sprint("attempt timeout ", attempt), func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			hc := srv.Client()
			hc.Timeout = 20 * time.Millisecond
			c := newClient(t, srv, agents.WithHTTPClient(hc), agents.WithAttemptTimeout(attempt), agents.WithMaxRetries(1))
			srv.Script(fakeapi.Hang(), fakeapi.Hang())
			_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			if err == nil || strings.Contains(err.Error(), "30s") || !strings.Contains(err.Error(), "Timeout") {
				t.Fatalf("err = %v; want one that names the http.Client's Timeout", err)
			}
			if !strings.HasPrefix(err.Error(), "agents: ") || strings.Count(err.Error(), "agents:") != 1 {
				t.Errorf("err = %q; want one package prefix", err)
			}
			if n := len(srv.Requests()); n != 2 {
				t.Errorf("%d requests; a timed-out attempt is retried like any other", n)
			}
		})
	}
}

func TestAPIKeyWhiteSpace(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	for _, key := range []string{fakeapi.DefaultKey + "\n", " " + fakeapi.DefaultKey + "\r\n", "\t" + fakeapi.DefaultKey} {
		c := newClient(t, srv, agents.WithAPIKey(key))
		if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
			t.Errorf("key %q: %v", key, err)
		}
	}
	for _, key := range []string{"sk_a b", "sk_a\nb", "  \n"} {
		_, err := agents.NewClient(agents.WithAPIKey(key), agents.WithBaseURL(srv.URL))
		if err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}
