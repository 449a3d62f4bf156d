package agentstest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

// CountEnabled is code under test: it counts an agent's enabled sessions,
// and reports an agent it may not read as zero.
func CountEnabled(ctx context.Context, c *agents.Client, agent string) (int, error) {
	enabled := true
	n := 0
	for _, err := range c.AllSessions(ctx, agent, agents.ListSessionsParams{Enabled: &enabled}) {
		if errors.Is(err, agents.ErrForbidden) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// A test of CountEnabled, written with agentstest. In a _test.go file it
// would be a func TestCountEnabled(t *testing.T) with t.Cleanup(srv.Close).
func Example() {
	srv := agentstest.NewServer()
	defer srv.Close()
	srv.AddAgent("agt_fleet", []agentstest.Session{
		{ID: "ase_1", AgentKey: "agt_fleet", Enabled: true, CreatedAt: time.Now()},
		{ID: "ase_2", AgentKey: "agt_fleet", Enabled: false, CreatedAt: time.Now()},
		{ID: "ase_3", AgentKey: "agt_fleet", Enabled: true, CreatedAt: time.Now()},
	})
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}

	n, err := CountEnabled(context.Background(), client, "agt_fleet")
	fmt.Println(n, err)

	// The same count survives a flaky network and a rate limit...
	srv.Script(agentstest.Drop(), agentstest.Error(http.StatusTooManyRequests, "0"), agentstest.Truncate())
	n, err = CountEnabled(context.Background(), client, "agt_fleet")
	fmt.Println(n, err)

	// ...and reports a forbidden agent as zero.
	n, err = CountEnabled(context.Background(), client, agentstest.RestrictedAgent)
	fmt.Println(n, err)

	last := srv.Requests()[len(srv.Requests())-1]
	fmt.Println(last.Status, last.Query.Get("enabled"), last.Query.Get("limit"))
	// Output:
	// 2 <nil>
	// 2 <nil>
	// 0 <nil>
	// 403 true 100
}

func ExampleServer_SetRateLimit() {
	srv := agentstest.NewServer()
	defer srv.Close()
	srv.SetRateLimit(1, 1, "30") // one request a second; then 429, Retry-After: 30
	client, err := srv.NewClient(agents.WithMaxRetryWait(time.Second))
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		_, err := client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
		fmt.Println(err)
	}
	fmt.Println(srv.Stats().Throttled, "throttled")
	// Output:
	// <nil>
	// agents: 429 rate_limit_exceeded: request rate limit exceeded (retry after 30s, request req_000002)
	// 1 throttled
}

// A scripted 429 with "Retry-After: 1" costs NewClient's Client a
// millisecond, yet everything it reports is what the server sent.
func ExampleServer_NewClient() {
	srv := agentstest.NewServer()
	defer srv.Close()
	client, err := srv.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	srv.Script(agentstest.Error(http.StatusTooManyRequests, "1"))
	_, err = client.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{}, agents.WithCallMaxRetries(0))
	var apiErr *agents.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("retry after", apiErr.RetryAfter)
	}

	srv.Script(agentstest.Error(http.StatusTooManyRequests, "1"))
	page, err := client.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Response.Attempts, "attempts, waited under a second:", page.Response.Waited < time.Second)
	// Output:
	// retry after 1s
	// 2 attempts, waited under a second: true
}
