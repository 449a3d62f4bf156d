package agents_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

// Per-call options change one call without changing the Client: here a
// tracing header, no retries for a call that a dashboard would rather
// show as failed than slow, and a tighter attempt timeout.
func ExampleWithHeader() {
	client, srv := exampleClient()
	defer srv.Close()
	srv.Script(agentstest.Error(http.StatusServiceUnavailable, ""))

	_, err := client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{},
		agents.WithHeader("X-Trace-Id", "trace-42"),
		agents.WithCallMaxRetries(0),
		agents.WithCallAttemptTimeout(2*time.Second),
	)
	var apiErr *agents.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("failed at once:", apiErr.StatusCode, "after", apiErr.Attempts, "attempt")
	}
	fmt.Println("server saw X-Trace-Id:", srv.Requests()[0].Header.Get("X-Trace-Id"))

	// A header the SDK owns is refused before anything is sent.
	_, err = client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{},
		agents.WithHeader("Authorization", "Bearer other"))
	fmt.Println(errors.Is(err, agents.ErrInvalidRequest), err)
	// Output:
	// failed at once: 503 after 1 attempt
	// server saw X-Trace-Id: trace-42
	// true agents: invalid request: WithHeader: Authorization cannot be set per call
}

// Every page says how it was fetched: the request id to quote to the
// API's operators, and what it took.
func ExampleResponseInfo() {
	client, srv := exampleClient()
	defer srv.Close()
	srv.Script(agentstest.Error(http.StatusBadGateway, "")) // the first attempt fails

	page, err := client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	if err != nil {
		log.Fatal(err)
	}
	r := page.Response
	fmt.Println(r.StatusCode, r.RequestID, r.Attempts, "attempts, waited:", r.Waited > 0)
	fmt.Println("Content-Type:", r.Header.Get("Content-Type"))
	// Output:
	// 200 req_000002 2 attempts, waited: true
	// Content-Type: application/json
}

// MaxItems stops a walk after that many sessions, asking the last page
// for only what is still needed: 150 sessions cost two requests, 100 and
// 50. The last page's key resumes exactly where it stopped.
func ExampleListSessionsParams_maxItems() {
	client, srv := exampleClient()
	defer srv.Close()

	params := agents.ListSessionsParams{MaxItems: 150}
	var resume string
	n := 0
	for page, err := range client.SessionPages(context.Background(), "agt_sales_assistant", params) {
		if err != nil {
			log.Fatal(err)
		}
		n += len(page.Sessions)
		resume = page.Metadata.PageKey
	}
	for _, r := range srv.Requests() {
		fmt.Println("limit", r.Query.Get("limit"))
	}
	fmt.Println(n, "sessions")

	params.PageKey = resume // the rest, from where the first walk stopped
	for s, err := range client.AllSessions(context.Background(), "agt_sales_assistant", params) {
		if err != nil {
			log.Fatal(err)
		}
		if n++; n == 151 {
			fmt.Println("resumed at", s.ID)
		}
	}
	fmt.Println(n, "sessions in all")
	// Output:
	// limit 100
	// limit 50
	// 150 sessions
	// resumed at ase_sales_assistant_0000150
	// 250 sessions in all
}

// Hooks let a program count, trace or display what the Client does
// without parsing its logs. They run on the caller's goroutine and must
// not block.
func ExampleWithHooks() {
	var attempts, retries atomic.Int64
	client, srv := exampleClient(agents.WithHooks(agents.Hooks{
		OnAttempt: func(context.Context, agents.AttemptEvent) { attempts.Add(1) },
		OnRetry: func(_ context.Context, ev agents.RetryEvent) {
			retries.Add(1)
			fmt.Println("retrying after attempt", ev.Attempt, "got", ev.StatusCode)
		},
		OnPage: func(_ context.Context, ev agents.PageEvent) {
			fmt.Println("page", ev.Page, ev.Sessions, "sessions, request", ev.Response.RequestID)
		},
	}))
	defer srv.Close()
	srv.Script(agentstest.Pass(), agentstest.Error(http.StatusServiceUnavailable, ""))

	for _, err := range client.SessionPages(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{}) {
		if err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(attempts.Load(), "attempts,", retries.Load(), "retry")
	// Output:
	// page 1 100 sessions, request req_000001
	// retrying after attempt 1 got 503
	// page 2 100 sessions, request req_000003
	// page 3 50 sessions, request req_000004
	// 4 attempts, 1 retry
}
