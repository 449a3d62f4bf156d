// Command export-sessions writes every session of an agent to a file, as
// JSON lines or CSV, with a progress bar on stderr when stderr is a
// terminal.
//
// An existing export is never damaged: a new one is written to a
// temporary file beside it and renamed into place only once complete. If
// the export is interrupted (Ctrl-C) or the API fails in a way that may
// pass, what was written is kept in <file>.partial and the program prints
// the command that carries on from there:
//
//	go run ./export-sessions -agent agt_sales_assistant -o sessions.jsonl
//	go run ./export-sessions -agent agt_sales_assistant -o sessions.jsonl -resume <key>
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"github.com/agentsapi/agents-go/examples/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, demo.ErrUsage) {
			os.Exit(2)
		}
		if errors.Is(err, errInterrupted) {
			// Said already; a script must still see that the export
			// is not complete. 130 is what shells use for Ctrl-C.
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// errInterrupted ends a run that Ctrl-C stopped after it printed how to
// carry on.
var errInterrupted = errors.New("interrupted")

// prepareFake sets up the embedded fake API. It is slowed down a little
// so that the progress bar (and Ctrl-C) can be seen; tests replace it.
var prepareFake = func(s *agentstest.Server) {
	s.AddGeneratedAgent("agt_sales_assistant", 5000)
	s.SetRateLimit(20, 1, "1")
}

type options struct {
	agent, out, format, resume string
	limit                      int
	retryFor                   time.Duration
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("export-sessions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.agent, "agent", "agt_sales_assistant", "agent key")
	fs.StringVar(&o.out, "o", "sessions.jsonl", "output file; replaced only once the export is complete")
	fs.StringVar(&o.format, "format", "", `"jsonl" or "csv" (default: from the file name)`)
	fs.StringVar(&o.resume, "resume", "", "page key printed by an interrupted export: carries on in <file>.partial")
	fs.IntVar(&o.limit, "limit", 0, "page size, 1..100 (0: 100, the maximum)")
	fs.DurationVar(&o.retryFor, "retry-for", 30*time.Second, "how long to keep retrying a page through an outage before stopping with a -resume key")
	if help, err := demo.Parse(fs, args, prepareFake); help || err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags go before it; see -h)", fs.Arg(0))
	}
	if o.format == "" {
		o.format = "jsonl"
		if strings.HasSuffix(o.out, ".csv") {
			o.format = "csv"
		}
	}
	if o.format != "jsonl" && o.format != "csv" {
		return fmt.Errorf("-format: want jsonl or csv, got %q", o.format)
	}
	if o.limit < 0 || o.limit > 100 {
		return fmt.Errorf("-limit: want 1..100 (or 0 for 100), got %d", o.limit)
	}

	client, done, err := demo.Client(prepareFake, agents.WithWalkRetryBudget(o.retryFor))
	if err != nil {
		return err
	}
	defer done()

	out, err := openOutput(o.out, o.format, o.resume != "")
	if err != nil {
		return err
	}
	bar := newProgress(stderr, out.kept)
	n, key, walkErr := export(ctx, client, o, out, bar)
	bar.stop()
	if walkErr == nil {
		if err := out.commit(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %d sessions to %s", out.kept+n, o.out)
		if out.kept > 0 {
			fmt.Fprintf(stderr, " (%d kept from before, %d fetched now)", out.kept, n)
		}
		fmt.Fprintln(stderr)
		return nil
	}

	total := out.kept + n
	if total == 0 && key == "" || !resumable(walkErr) {
		// Nothing a resume could add: leave the files as they were.
		if err := out.discard(); err != nil {
			return err
		}
		return explain(walkErr, o, out)
	}
	if err := out.keep(); err != nil {
		return err
	}
	untouched := ""
	if _, err := os.Stat(o.out); err == nil {
		untouched = fmt.Sprintf(" (%s is untouched)", o.out)
	}
	carryOn := fmt.Sprintf("%d sessions are kept in %s%s; to carry on:\n  go run ./export-sessions -agent %s -o %s -resume %s",
		total, out.partial, untouched, o.agent, o.out, key)
	if errors.Is(walkErr, context.Canceled) {
		fmt.Fprintln(stderr, "interrupted; "+carryOn)
		return errInterrupted
	}
	return fmt.Errorf("%w\n%s", cause(walkErr), carryOn)
}

// export walks the agent's pages from o.resume, writing each whole page
// before asking for the next, so that the key it returns is always exactly
// where the output ends. n counts the sessions written by this run.
func export(ctx context.Context, client *agents.Client, o options, out *output, bar *progress) (n int, key string, err error) {
	key = o.resume
	var buf bytes.Buffer
	w := newWriter(&buf, o.format)
	for page, err := range client.SessionPages(ctx, o.agent, agents.ListSessionsParams{Limit: o.limit, PageKey: o.resume}) {
		if err != nil {
			return n, key, err
		}
		buf.Reset()
		for _, s := range page.Sessions {
			if err := w.write(s); err != nil {
				return n, key, err
			}
		}
		if err := w.flush(); err != nil {
			return n, key, err
		}
		if err := out.writePage(buf.Bytes()); err != nil {
			return n, key, err
		}
		n += len(page.Sessions)
		key = page.Metadata.PageKey
		bar.update(n, page.Metadata.TotalCount)
	}
	return n, key, nil
}
