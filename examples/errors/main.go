// Command errors shows how a program tells the SDK's errors apart: each
// documented API error with errors.Is, the details with errors.As, what a
// 429's RetryAfter says, and input rejected before any request is sent.
//
// With no AGENTS_BASE_URL it scripts each error on the embedded fake API.
// Pointed at a real server it makes only the calls that fail there too,
// and says which cases it left out.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"github.com/agentsapi/agents-go/examples/internal/demo"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type attempt struct {
	what   string
	agent  string
	params agents.ListSessionsParams
	// scripted is set for a case only the fake's scripted faults bring
	// about: a real server would answer it normally.
	scripted bool
}

func run(out io.Writer) error {
	attempts := []attempt{
		{what: "an agent key off the pattern", agent: "support-bot"},
		{what: "a limit over 100", agent: "agt_customer_support", params: agents.ListSessionsParams{Limit: 500}},
		{what: "an agent that does not exist", agent: "agt_no_such_agent"},
		{what: "an agent this key may not read", agent: agentstest.RestrictedAgent},
		{what: "a page key the server does not know", agent: "agt_customer_support", params: agents.ListSessionsParams{PageKey: "bm90LWEta2V5"}},
		{what: "a gateway that answers with HTML", agent: "agt_customer_support", scripted: true},
		{what: "a server that rate-limits and names an hour", agent: "agt_customer_support", scripted: true},
		{what: "any call on the same Client during that hour", agent: "agt_customer_support", scripted: true},
	}
	fake := false
	client, done, err := demo.Client(func(s *agentstest.Server) {
		fake = true
		// Two attempts send nothing and three meet real errors; then
		// these. The last attempt sends nothing either: the Client
		// holds back every call until the hour has passed.
		s.Script(
			agentstest.Pass(), agentstest.Pass(), agentstest.Pass(),
			agentstest.Response(http.StatusBadGateway, http.Header{"Content-Type": {"text/html"}}, "<html><h1>502 Bad Gateway</h1></html>"),
			agentstest.Error(http.StatusTooManyRequests, "3600"),
		)
	}, agents.WithMaxRetries(0))
	if err != nil {
		return err
	}
	defer done()

	var skipped []string
	for _, a := range attempts {
		if a.scripted && !fake {
			skipped = append(skipped, a.what)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := client.ListSessions(ctx, a.agent, a.params)
		cancel()
		if err == nil {
			// A real server may well serve what the fake refuses (its
			// agents are not the fake's).
			fmt.Fprintf(out, "%s:\n  -> no error: this server served the page\n\n", a.what)
			continue
		}
		fmt.Fprintf(out, "%s:\n  %v\n  -> %s\n\n", a.what, err, explain(err))
	}
	if len(skipped) > 0 {
		fmt.Fprintf(out, "Left out, since only the embedded fake API can script them (unset AGENTS_BASE_URL to see them):\n")
		for _, w := range skipped {
			fmt.Fprintf(out, "  %s\n", w)
		}
	}
	return nil
}

// explain is how a program would react to each error.
func explain(err error) string {
	var apiErr *agents.APIError
	isAPI := errors.As(err, &apiErr)
	switch {
	case err == nil:
		return "no error"
	case errors.Is(err, agents.ErrInvalidRequest) && !isAPI:
		return "ErrInvalidRequest, caught before sending: fix the input"
	case errors.Is(err, agents.ErrInvalidRequest):
		return fmt.Sprintf("ErrInvalidRequest from the server (request %s): fix the request", apiErr.RequestID)
	case errors.Is(err, agents.ErrUnauthorized):
		return "ErrUnauthorized: check AGENTS_API_KEY"
	case errors.Is(err, agents.ErrForbidden):
		return "ErrForbidden: this key may not read that agent; ask for access"
	case errors.Is(err, agents.ErrAgentNotFound):
		return "ErrAgentNotFound: check the agent key"
	case errors.Is(err, agents.ErrRateLimitExceeded) && isAPI:
		return fmt.Sprintf("ErrRateLimitExceeded: the server asks to wait %v, longer than this program will; try later", apiErr.RetryAfter.Round(time.Minute))
	case errors.Is(err, agents.ErrRateLimitExceeded):
		return "ErrRateLimitExceeded from WithRateLimit: the Client's own pace would wait too long; nothing was sent"
	case isAPI:
		return fmt.Sprintf("an undocumented %d (%s): the message quotes the body; report request %q if it persists", apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
	default:
		return "a transport error: the network or the server is down"
	}
}
