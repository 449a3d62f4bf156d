// Command export-sessions writes every session of an agent to a file, as
// JSON lines or CSV, with a progress bar on stderr. Ctrl-C stops it
// cleanly: what was written is kept, and it prints the page key to give
// -resume to carry on where it stopped.
//
//	go run ./export-sessions -agent agt_sales_assistant -o sessions.jsonl
//	go run ./export-sessions -agent agt_sales_assistant -o sessions.jsonl -resume <key>
package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
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
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type options struct {
	agent, out, format, resume string
	limit                      int
}

func run(ctx context.Context, args []string, progress io.Writer) error {
	var o options
	fs := flag.NewFlagSet("export-sessions", flag.ContinueOnError)
	fs.StringVar(&o.agent, "agent", "agt_sales_assistant", "agent key")
	fs.StringVar(&o.out, "o", "sessions.jsonl", "output file; appended to with -resume")
	fs.StringVar(&o.format, "format", "", `"jsonl" or "csv" (default: from the file name)`)
	fs.StringVar(&o.resume, "resume", "", "page key printed by an interrupted export")
	fs.IntVar(&o.limit, "limit", 0, "page size (0: 100, the maximum)")
	if err := fs.Parse(args); err != nil {
		return err
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

	// The embedded server is slowed down a little so that the progress
	// bar (and Ctrl-C) can be seen.
	client, done, err := demo.Client(func(s *agentstest.Server) {
		s.AddGeneratedAgent("agt_sales_assistant", 5000)
		s.SetRateLimit(20, 1, "1")
	})
	if err != nil {
		return err
	}
	defer done()

	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if o.resume != "" {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(o.out, flags, 0o644)
	if err != nil {
		return err
	}
	w := newWriter(f, o.format, o.resume == "")
	n, key, walkErr := export(ctx, client, o, w, progress)
	if err := w.close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintln(progress)
	var pe *agents.PageError
	switch {
	case walkErr == nil:
		fmt.Fprintf(progress, "wrote %d sessions to %s\n", n, o.out)
		return nil
	case errors.As(walkErr, &pe) && errors.Is(walkErr, context.Canceled):
		fmt.Fprintf(progress, "interrupted after %d sessions, all written to %s; to carry on:\n  go run ./export-sessions -agent %s -o %s -resume %s\n", n, o.out, o.agent, o.out, pe.PageKey)
		return nil
	default:
		if key != "" {
			fmt.Fprintf(progress, "stopped after %d sessions; resume with -resume %s\n", n, key)
		}
		return walkErr
	}
}

// export walks the agent's pages, writing each whole page before asking
// for the next, so that a page key printed on interruption is always
// exactly where the file ends.
func export(ctx context.Context, client *agents.Client, o options, w *writer, progress io.Writer) (int, string, error) {
	params := agents.ListSessionsParams{Limit: o.limit, PageKey: o.resume}
	n := 0
	start := time.Now()
	for page, err := range client.SessionPages(ctx, o.agent, params) {
		if err != nil {
			var pe *agents.PageError
			if errors.As(err, &pe) {
				return n, pe.PageKey, err
			}
			return n, "", err
		}
		for _, s := range page.Sessions {
			if err := w.write(s); err != nil {
				return n, "", err
			}
		}
		if err := w.flush(); err != nil {
			return n, "", err
		}
		n += len(page.Sessions)
		drawProgress(progress, n, page.Metadata.TotalCount, time.Since(start))
	}
	return n, "", nil
}

func drawProgress(w io.Writer, done, total int, elapsed time.Duration) {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	bar := strings.Repeat("█", int(frac*width)) + strings.Repeat("░", width-int(frac*width))
	fmt.Fprintf(w, "\r%s %3.0f%%  %d/%d sessions  %.0f/s", bar, 100*frac, done, total, float64(done)/max(elapsed.Seconds(), 1e-3))
}

type writer struct {
	json *json.Encoder
	csv  *csv.Writer
}

var csvHeader = []string{"id", "agent_key", "description", "enabled", "created_at", "metadata"}

func newWriter(f io.Writer, format string, header bool) *writer {
	if format == "jsonl" {
		return &writer{json: json.NewEncoder(f)}
	}
	w := &writer{csv: csv.NewWriter(f)}
	if header {
		w.csv.Write(csvHeader)
	}
	return w
}

func (w *writer) write(s agents.Session) error {
	if w.json != nil {
		return w.json.Encode(s)
	}
	md, err := json.Marshal(s.Metadata)
	if err != nil {
		return err
	}
	return w.csv.Write([]string{s.ID, s.AgentKey, s.Description, strconv.FormatBool(s.Enabled), s.CreatedAt.Format(time.RFC3339), string(md)})
}

func (w *writer) flush() error {
	if w.csv != nil {
		w.csv.Flush()
		return w.csv.Error()
	}
	return nil
}

func (w *writer) close() error { return w.flush() }
