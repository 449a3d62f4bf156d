package agents_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

const sessionsPath = "/api/v2/agents/agt_customer_support/sessions" // under fakeapi's base path

// TestSendFollowsTheHTTPClient checks that what an *http.Client adds to
// its transport keeps working whether or not the Client sends straight
// to the transport (it does when the client has no Jar and no Timeout):
// redirects are followed, a caller's CheckRedirect is asked, and a Jar
// stores and sends cookies.
func TestSendFollowsTheHTTPClient(t *testing.T) {
	t.Parallel()
	const path = sessionsPath
	refuse := errors.New("refused by CheckRedirect")
	for _, tt := range []struct {
		name      string
		hc        func(*fakeapi.Server) *http.Client // nil: the SDK's own transport
		status    int
		wantErr   error
		wantPaths []string
	}{
		{name: "own transport, 302 followed", status: http.StatusFound, wantPaths: []string{path, path}},
		{name: "own transport, 308 followed", status: http.StatusPermanentRedirect, wantPaths: []string{path, path}},
		{
			name:      "caller's client, 303 followed",
			hc:        func(s *fakeapi.Server) *http.Client { return s.Client() },
			status:    http.StatusSeeOther,
			wantPaths: []string{path, path},
		},
		{
			name: "caller's CheckRedirect refuses",
			hc: func(s *fakeapi.Server) *http.Client {
				hc := s.Client()
				hc.CheckRedirect = func(*http.Request, []*http.Request) error { return refuse }
				return hc
			},
			status:    http.StatusFound,
			wantErr:   refuse,
			wantPaths: []string{path},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			var opts []agents.Option
			if tt.hc == nil {
				c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey))
				if err != nil {
					t.Fatal(err)
				}
				testSend(t, srv, c, tt.status, tt.wantErr, tt.wantPaths)
				return
			}
			// A refused redirect is an error go-retryablehttp's policy
			// retries; one attempt shows the refusal.
			opts = append(opts, agents.WithHTTPClient(tt.hc(srv)), agents.WithMaxRetries(0))
			testSend(t, srv, newClient(t, srv, opts...), tt.status, tt.wantErr, tt.wantPaths)
		})
	}
}

func testSend(t *testing.T, srv *fakeapi.Server, c *agents.Client, status int, wantErr error, wantPaths []string) {
	t.Helper()
	srv.Script(fakeapi.Fault{Kind: fakeapi.KindRaw, Status: status,
		Header: http.Header{"Location": {strings.TrimSuffix(srv.URL, "/api") + wantPaths[0]}}})
	page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	switch {
	case wantErr != nil && !errors.Is(err, wantErr):
		t.Errorf("err = %v, want %v", err, wantErr)
	case wantErr == nil && err != nil:
		t.Errorf("err = %v, want the page behind the redirect", err)
	case wantErr == nil && page.Response.Attempts != 1:
		t.Errorf("Attempts = %d, want 1: a redirect is part of its attempt", page.Response.Attempts)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "agents: ") {
		t.Errorf("err = %q, want the package prefix", err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.Path)
	}
	if diff := cmp.Diff(wantPaths, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestSendKeepsTheCallersJar: a Jar on the caller's client stores the
// cookie of a retried answer and sends it with the retry.
func TestSendKeepsTheCallersJar(t *testing.T) {
	t.Parallel()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	hc := srv.Client()
	hc.Jar = jar
	c := newClient(t, srv, agents.WithHTTPClient(hc))
	srv.Script(fakeapi.Fault{Kind: fakeapi.KindRaw, Status: http.StatusServiceUnavailable,
		Header: http.Header{"Set-Cookie": {"affinity=b7; Path=/"}}})
	if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range srv.Requests() {
		got = append(got, r.Header.Get("Cookie"))
	}
	if diff := cmp.Diff([]string{"", "affinity=b7"}, got); diff != "" {
		t.Errorf("Cookie headers sent (-want +got):\n%s", diff)
	}
}
