// Command rate-limits runs several workers that share one Client against
// a rate-limited API and prints, each second, how many pages got through
// and how many 429s the client met. It runs three times: with the default
// adaptive pacing, with WithRateLimit set just under the server's limit,
// and with no pacing at all.
//
// With no AGENTS_BASE_URL the embedded fake API allows -server-rate
// requests a second (burst 5) and answers the rest 429 with Retry-After: 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"github.com/agentsapi/agents-go/examples/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rate-limits", flag.ContinueOnError)
	workers := fs.Int("workers", 16, "goroutines sharing the Client")
	seconds := fs.Int("seconds", 6, "how long each run lasts")
	serverRate := fs.Float64("server-rate", 50, "requests a second the embedded server allows")
	agent := fs.String("agent", "agt_customer_support", "agent key")
	if err := fs.Parse(args); err != nil {
		return err
	}
	modes := []struct {
		name string
		opts []agents.Option
	}{
		{"adaptive pacing (the default)", nil},
		{fmt.Sprintf("WithRateLimit(%.0f, 1)", *serverRate*0.95), []agents.Option{agents.WithRateLimit(rate.Limit(*serverRate*0.95), 1)}},
		{"no pacing", []agents.Option{agents.WithAdaptivePacing(false)}},
	}
	for _, m := range modes {
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(out, "\n%s, %d workers:\n", m.name, *workers)
		var throttled atomic.Int64
		opts := append(m.opts, agents.WithLogger(slog.New(&count429{n: &throttled})))
		client, done, err := demo.Client(func(s *agentstest.Server) {
			s.KeepLog(false)
			s.SetRateLimit(*serverRate, 5, "1")
		}, opts...)
		if err != nil {
			return err
		}
		total := load(ctx, client, *agent, *workers, time.Duration(*seconds)*time.Second, &throttled, out)
		done()
		fmt.Fprintf(out, "  total: %.1f pages/s", float64(total)/float64(*seconds))
		if os.Getenv("AGENTS_BASE_URL") == "" {
			fmt.Fprintf(out, " (%.0f%% of the server's %.0f/s)", 100*float64(total)/float64(*seconds) / *serverRate, *serverRate)
		}
		fmt.Fprintln(out)
	}
	return nil
}

// load runs the workers for d and prints a line a second; it returns how
// many pages got through.
func load(ctx context.Context, client *agents.Client, agent string, workers int, d time.Duration, throttled *atomic.Int64, out io.Writer) int64 {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	time.AfterFunc(d, cancel)
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := client.ListSessions(ctx, agent, agents.ListSessionsParams{Limit: 1}); err == nil {
					ok.Add(1)
				}
			}
		})
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastOK, last429 int64
	for sec := 1; ; sec++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return ok.Load()
		case <-tick.C:
			o, t := ok.Load(), throttled.Load()
			fmt.Fprintf(out, "  %2ds  %4d pages  %4d 429s\n", sec, o-lastOK, t-last429)
			lastOK, last429 = o, t
		}
	}
}

// count429 is a slog.Handler that counts the client's retry lines for a
// 429: how a program can watch its rate limiting without touching the
// transport.
type count429 struct{ n *atomic.Int64 }

func (c *count429) Enabled(context.Context, slog.Level) bool { return true }
func (c *count429) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *count429) WithGroup(string) slog.Handler            { return c }
func (c *count429) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "status" && a.Value.Int64() == 429 {
			c.n.Add(1)
		}
		return true
	})
	return nil
}
