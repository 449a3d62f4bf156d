package demo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

// ErrUsage is returned by Parse for a flag it could not parse; the flag
// package has already printed what was wrong and the usage, so a main
// should exit 2 without printing it again.
var ErrUsage = errors.New("usage error")

// seeded are the agents a new agentstest.Server holds, as its package doc
// lists them.
var seeded = []string{"agt_customer_support", "agt_sales_assistant", "agt_empty", agentstest.RestrictedAgent}

// Parse parses args with fs. For -h or -help it prints the usage and, when
// the examples would run against the embedded fake API, the agents that
// fake holds once prepare has run, and reports help as true: the program
// should then exit 0. A flag it cannot parse gives ErrUsage.
func Parse(fs *flag.FlagSet, args []string, prepare func(*agentstest.Server)) (help bool, err error) {
	err = fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		if os.Getenv("AGENTS_BASE_URL") == "" {
			printAgents(fs.Output(), prepare)
		}
		return true, nil
	case err != nil:
		return false, ErrUsage
	}
	return false, nil
}

// printAgents lists the embedded fake's agents with their session counts,
// asked of the fake itself so that the list cannot go stale.
func printAgents(w io.Writer, prepare func(*agentstest.Server)) {
	srv := agentstest.NewServer()
	defer srv.Close()
	if prepare != nil {
		prepare(srv)
	}
	// A listing must not wait on a rate limit the example set for show.
	srv.SetRateLimit(0, 0, "")
	c, err := srv.NewClient(agents.WithMaxRetries(0))
	if err != nil {
		return
	}
	fmt.Fprintf(w, "\nWith AGENTS_BASE_URL unset, this runs against an embedded fake API holding:\n")
	for _, a := range seeded {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		page, err := c.ListSessions(ctx, a, agents.ListSessionsParams{Limit: 1})
		cancel()
		switch {
		case errors.Is(err, agents.ErrForbidden):
			fmt.Fprintf(w, "  %-22s (exists, but the fake's key may not read it: 403)\n", a)
		case err == nil:
			fmt.Fprintf(w, "  %-22s %d sessions\n", a, page.Metadata.TotalCount)
		}
	}
	fmt.Fprintf(w, "Set AGENTS_BASE_URL (e.g. https://api.agents.example.com) and AGENTS_API_KEY to use the real API.\n")
}
