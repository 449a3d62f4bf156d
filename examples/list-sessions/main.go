// Command list-sessions prints one page of an agent's sessions as a table,
// or as JSON with -json. With -max N it walks pages until it has N
// sessions, asking the last page for only what it still needs; -v prints
// how each page was fetched (request id, attempts, time waited) on stderr.
//
//	go run ./list-sessions -agent agt_customer_support -limit 2
//	go run ./list-sessions -agent agt_sales_assistant -max 150 -v
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"github.com/agentsapi/agents-go/examples/internal/demo"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, demo.ErrUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// prepareFake sets up the embedded fake API; nil serves it as seeded.
// Tests replace it to script faults.
var prepareFake func(*agentstest.Server)

// run writes the page to out and, with -v, how each page was fetched to
// diag, so that -json output stays valid JSON; flag errors and help go to
// diag too.
func run(args []string, out, diag io.Writer) error {
	fs := flag.NewFlagSet("list-sessions", flag.ContinueOnError)
	fs.SetOutput(diag)
	agent := fs.String("agent", "agt_customer_support", "agent key")
	limit := fs.Int("limit", 0, "page size, 1..100 (0: the server's default)")
	enabled := fs.String("enabled", "", `only sessions with enabled "true" or "false" (default: all)`)
	pageKey := fs.String("page-key", "", "page key from a previous page")
	asJSON := fs.Bool("json", false, "print the page as JSON")
	maxItems := fs.Int("max", 0, "walk pages until this many sessions (0: print one page)")
	verbose := fs.Bool("v", false, "print each page's request id, attempts and time waited on stderr")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait, retries included")
	if help, err := demo.Parse(fs, args, prepareFake); help || err != nil {
		return err
	}
	params := agents.ListSessionsParams{Limit: *limit, PageKey: *pageKey, MaxItems: *maxItems}
	if *enabled != "" {
		b, err := strconv.ParseBool(*enabled)
		if err != nil {
			return fmt.Errorf("-enabled: want true or false, got %q", *enabled)
		}
		params.Enabled = &b
	}

	client, done, err := demo.Client(prepareFake)
	if err != nil {
		return err
	}
	defer done()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	page, err := fetch(ctx, client, *agent, params, func(n int, p *agents.SessionPage) {
		if *verbose {
			r := p.Response
			fmt.Fprintf(diag, "page %d: %d sessions, request %s, %d attempt(s), waited %v\n",
				n, len(p.Sessions), r.RequestID, r.Attempts, r.Waited.Round(time.Millisecond))
		}
	})
	switch {
	case errors.Is(err, agents.ErrAgentNotFound):
		return fmt.Errorf("no agent %q: check -agent\n  %w", *agent, err)
	case errors.Is(err, context.DeadlineExceeded):
		// The SDK's error says how many attempts went to which host.
		return fmt.Errorf("no page within -timeout %v: is the base URL right and the API up?\n  %w", *timeout, err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(page)
	}
	printTable(out, page)
	return nil
}

// fetch returns one page, or with MaxItems set, the pages of a walk that
// stops after MaxItems sessions, merged into one whose PageKey resumes
// the walk. seen hears of each page as it comes.
func fetch(ctx context.Context, client *agents.Client, agent string, params agents.ListSessionsParams, seen func(int, *agents.SessionPage)) (*agents.SessionPage, error) {
	if params.MaxItems == 0 {
		page, err := client.ListSessions(ctx, agent, params)
		if err == nil {
			seen(1, page)
		}
		return page, err
	}
	all := &agents.SessionPage{}
	n := 0
	for page, err := range client.SessionPages(ctx, agent, params) {
		if err != nil {
			return nil, err
		}
		n++
		seen(n, page)
		all.Sessions = append(all.Sessions, page.Sessions...)
		all.Metadata = page.Metadata
		all.Response = page.Response
	}
	return all, nil
}

func printTable(out io.Writer, page *agents.SessionPage) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENABLED\tCREATED\tDESCRIPTION\tMETADATA")
	for _, s := range page.Sessions {
		fmt.Fprintf(tw, "%s\t%v\t%s\t%s\t%s\n", s.ID, s.Enabled, s.CreatedAt.Format(time.DateTime), s.Description, metadata(s.Metadata))
	}
	tw.Flush()
	fmt.Fprintf(out, "\n%d of %d sessions", len(page.Sessions), page.Metadata.TotalCount)
	if page.Metadata.PageKey != "" {
		fmt.Fprintf(out, "; next page: -page-key %s", page.Metadata.PageKey)
	}
	fmt.Fprintln(out)
}

func metadata(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, " ")
}
