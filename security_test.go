package agents_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// TestTLSVerified: against a server whose certificate the client does not
// trust, the call fails on the certificate, once, without retrying; with a
// client that trusts it, the same call works. The SDK never turns
// verification off.
func TestTLSVerified(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"sessions":[],"metadata":{}}`))
	}))
	t.Cleanup(ts.Close)

	untrusting, err := agents.NewClient(agents.WithBaseURL(ts.URL), agents.WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = untrusting.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{})
	if err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "attempts") {
		t.Fatalf("err = %v; want a certificate error, not retried", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("a request reached the untrusted server")
	}

	trusting, err := agents.NewClient(agents.WithBaseURL(ts.URL), agents.WithAPIKey("k"), agents.WithHTTPClient(ts.Client()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trusting.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{}); err != nil {
		t.Fatalf("with the server's certificate trusted: %v", err)
	}
}

// TestPageKeyCannotInject: a page key is opaque server text, but one that
// a proxy or a hostile server crafted still travels as one escaped query
// value: no extra parameter, no header, no fragment.
func TestPageKeyCannotInject(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(0))
	evil := "K\r\nX-Injected: 1&limit=1000&enabled=false#frag /../../admin"
	c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{PageKey: evil})
	r := srv.Requests()[0]
	if got := r.Query.Get("page_key"); got != evil {
		t.Errorf("page_key arrived as %q, want %q", got, evil)
	}
	if r.Query.Has("limit") || r.Query.Has("enabled") || r.Header.Get("X-Injected") != "" {
		t.Errorf("the page key injected into the request: query %v, headers %v", r.Query, r.Header)
	}
	if r.Path != fakeapi.DefaultBasePath+"/v2/agents/agt_customer_support/sessions" {
		t.Errorf("path = %q", r.Path)
	}
}
