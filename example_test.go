package agents_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

// The examples run against agentstest's fake API; with the real one, make
// the Client with agents.NewClient() and AGENTS_API_KEY/AGENTS_BASE_URL.
func exampleClient(opts ...agents.Option) (*agents.Client, *agentstest.Server) {
	srv := agentstest.NewServer()
	client, err := srv.NewClient(opts...)
	if err != nil {
		log.Fatal(err)
	}
	return client, srv
}

func ExampleClient_ListSessions() {
	client, srv := exampleClient()
	defer srv.Close()

	page, err := client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range page.Sessions {
		fmt.Println(s.ID, s.Metadata["priority"], s.CreatedAt.Format("2006-01-02"))
	}
	fmt.Println("total:", page.Metadata.TotalCount, "more:", page.Metadata.PageKey != "")
	// Output:
	// ase_customer_support_001 high 2024-01-15
	// ase_customer_support_002 medium 2024-01-15
	// total: 127 more: true
}

func ExampleClient_AllSessions() {
	client, srv := exampleClient()
	defer srv.Close()

	enabled := true
	n := 0
	for s, err := range client.AllSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Enabled: &enabled}) {
		if err != nil {
			log.Fatal(err)
		}
		if n++; n <= 2 {
			fmt.Println(s.ID)
		}
	}
	fmt.Println(n, "enabled sessions")
	// Output:
	// ase_sales_assistant_0000001
	// ase_sales_assistant_0000002
	// 166 enabled sessions
}

// A walk that fails says where to resume, so that a long export can carry
// on without reading its first pages again.
func ExampleClient_SessionPages_resume() {
	// No retries, in calls or in walks, so that one failure stops a walk.
	client, srv := exampleClient(agents.WithMaxRetries(0), agents.WithWalkRetryBudget(0))
	defer srv.Close()
	// The third page fails once.
	srv.Script(agentstest.Pass(), agentstest.Pass(), agentstest.Error(http.StatusServiceUnavailable, ""))

	params := agents.ListSessionsParams{Limit: 100}
	sessions := 0
	for attempt := 1; ; attempt++ {
		var pe *agents.PageError
		for page, err := range client.SessionPages(context.Background(), "agt_sales_assistant", params) {
			if errors.As(err, &pe) {
				fmt.Printf("attempt %d stopped after %d sessions: %v\n", attempt, sessions, pe.Err)
				break
			}
			sessions += len(page.Sessions)
		}
		if pe == nil {
			break
		}
		params.PageKey = pe.PageKey // resume where it stopped
	}
	fmt.Println("sessions:", sessions)
	// Output:
	// attempt 1 stopped after 200 sessions: agents: 503 service_unavailable: injected Service Unavailable (request req_000003)
	// sessions: 250
}

func ExampleAPIError() {
	client, srv := exampleClient()
	defer srv.Close()

	_, err := client.ListSessions(context.Background(), "agt_no_such_agent", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	switch {
	case errors.Is(err, agents.ErrAgentNotFound) && errors.As(err, &apiErr):
		fmt.Println("not found:", apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
	case err != nil:
		fmt.Println("other error:", err)
	}
	_, err = client.ListSessions(context.Background(), "no-prefix", agents.ListSessionsParams{})
	fmt.Println(errors.Is(err, agents.ErrInvalidRequest), errors.As(err, &apiErr), err)
	// Output:
	// not found: 404 agent_not_found req_000001
	// true false agents: invalid request: agent key "no-prefix" does not match ^agt_[0-9a-zA-Z_-]+$
}

func ExampleAPIError_retryAfter() {
	client, srv := exampleClient()
	defer srv.Close()
	// The server asks for an hour; the client will not wait that long
	// (WithMaxRetryWait, one minute by default) and says so at once.
	srv.Script(agentstest.Error(http.StatusTooManyRequests, "3600"))

	_, err := client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if errors.Is(err, agents.ErrRateLimitExceeded) && errors.As(err, &apiErr) {
		fmt.Println("rate limited; try again in", apiErr.RetryAfter)
	}
	// Output:
	// rate limited; try again in 1h0m0s
}
