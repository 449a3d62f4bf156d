package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"golang.org/x/time/rate"
)

func TestRun(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"caught before sending",
		"ErrAgentNotFound",
		"ErrForbidden",
		"ErrInvalidRequest from the server",
		"asks to wait 1h0m0s",
		"the client is holding back",
		"an undocumented 502 (bad_gateway)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunAgainstRealServer points the program at a server it cannot
// script, as a user with AGENTS_BASE_URL set does: it must make only the
// calls that fail there too, and never print "<nil>".
func TestRunAgainstRealServer(t *testing.T) {
	srv := agentstest.NewServer()
	t.Cleanup(srv.Close)
	t.Setenv("AGENTS_BASE_URL", srv.URL)
	t.Setenv("AGENTS_API_KEY", agentstest.DefaultKey)
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, bad := range []string{"<nil>", "undocumented 502", "asks to wait"} {
		if strings.Contains(got, bad) {
			t.Errorf("output says %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{"caught before sending", "ErrAgentNotFound", "Left out", "a gateway that answers with HTML"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("the server got %d requests, want 3 (the scripted cases must send none)", n)
	}
}

// TestExplainClientSideLimit: ErrRateLimitExceeded without an *APIError
// (the Client's own WithRateLimit refusing to wait) must not be read as
// the server's 429.
func TestExplainClientSideLimit(t *testing.T) {
	srv := agentstest.NewServer()
	t.Cleanup(srv.Close)
	client, err := srv.NewClient(agents.WithRateLimit(rate.Every(time.Hour), 1), agents.WithMaxRetryWait(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = client.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{Limit: 1})
	if !errors.Is(err, agents.ErrRateLimitExceeded) {
		t.Fatalf("err = %v, want ErrRateLimitExceeded from the Client's own limit", err)
	}
	if got := explain(err); !strings.Contains(got, "WithRateLimit") {
		t.Errorf("explain = %q, want it to name WithRateLimit", got)
	}
}
