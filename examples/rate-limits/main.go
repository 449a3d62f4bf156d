// Command rate-limits shows one Client shared by many goroutines against
// a rate-limited API: 16 workers list sessions as fast as they can while
// the server allows 50 requests a second. Each second it prints what got
// through, the 429s, and the pacer's own view from
// [agents.Client.PacingStats]: where its pace comes from, the pace itself,
// and the server's limit as far as the Client knows it.
//
// It takes about 20 seconds and says so first: the default Client
// (adaptive pacing) for 12, then, to compare, 4 seconds each of
// WithRateLimit set just under the limit and of no pacing at all.
// -seconds and -compare-seconds change that; -compare-seconds 0 runs the
// default Client alone.
//
// With no AGENTS_BASE_URL the embedded fake API allows -server-rate
// requests a second (burst 5) and answers the rest 429 with
// Retry-After: 1 and no rate-limit headers, so the Client has to learn
// the limit from its 429s.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
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
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, demo.ErrUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// fakeBurst and fakeRetryAfter shape the embedded fake's limiter.
const (
	fakeBurst      = 5
	fakeRetryAfter = "1"
)

// mode is one run: a Client made with opts, for d.
type mode struct {
	name string
	opts []agents.Option
	d    time.Duration
}

// result is what one run got through.
type result struct {
	ok, errs, throttled int64
	elapsed             time.Duration
	perSec              []int64 // calls that got through, second by second
}

func run(ctx context.Context, args []string, out, diag io.Writer) error {
	fs := flag.NewFlagSet("rate-limits", flag.ContinueOnError)
	fs.SetOutput(diag)
	workers := fs.Int("workers", 16, "goroutines sharing the Client")
	seconds := fs.Int("seconds", 12, "how long the default Client runs")
	compare := fs.Int("compare-seconds", 4, "how long each comparison run lasts (0: none)")
	serverRate := fs.Float64("server-rate", 50, "requests a second the embedded fake allows")
	agent := fs.String("agent", "agt_customer_support", "agent key")
	limitFake := func(s *agentstest.Server) { s.SetRateLimit(*serverRate, fakeBurst, fakeRetryAfter) }
	if help, err := demo.Parse(fs, args, limitFake); help || err != nil {
		return err
	}
	if *workers < 1 || *seconds < 1 || *compare < 0 || *serverRate <= 0 {
		return errors.New("rate-limits: need -workers and -seconds of 1 or more, -compare-seconds of 0 or more, and a positive -server-rate")
	}
	fixed := *serverRate * 0.95
	modes := []mode{{"default Client (adaptive pacing)", nil, time.Duration(*seconds) * time.Second}}
	if *compare > 0 {
		d := time.Duration(*compare) * time.Second
		modes = append(modes,
			mode{fmt.Sprintf("WithRateLimit(%.0f, 1)", fixed), []agents.Option{agents.WithRateLimit(rate.Limit(fixed), 1)}, d},
			mode{"no pacing", []agents.Option{agents.WithAdaptivePacing(false)}, d},
		)
	}

	// Say first how long this takes, and against what.
	var total time.Duration
	plan := make([]string, len(modes))
	for i, m := range modes {
		total += m.d
		plan[i] = fmt.Sprintf("%s for %v", m.name, m.d)
	}
	fake := os.Getenv("AGENTS_BASE_URL") == ""
	fmt.Fprintf(out, "This takes about %v (Ctrl-C stops it): %s.\n", total, strings.Join(plan, ", then "))
	if fake {
		fmt.Fprintf(out, "%d workers share one Client; the server allows %.0f requests/s (burst %d) and answers the rest 429 with Retry-After: %s, without rate-limit headers.\n",
			*workers, *serverRate, fakeBurst, fakeRetryAfter)
	} else {
		fmt.Fprintf(out, "%d workers share one Client against AGENTS_BASE_URL, whose limit this program does not know.\n", *workers)
	}

	// One server for every run (the notice about it is printed once),
	// with a fresh limiter and a fresh Client for each.
	var srv *agentstest.Server
	_, done, err := demo.Client(func(s *agentstest.Server) { srv = s; s.KeepLog(false) })
	if err != nil {
		return err
	}
	defer done()
	newClient := func(opts ...agents.Option) (*agents.Client, error) {
		if srv == nil {
			return agents.NewClient(opts...)
		}
		limitFake(srv)
		return srv.NewRealTimeClient(opts...)
	}

	results := make([]result, 0, len(modes))
	for _, m := range modes {
		if ctx.Err() != nil {
			break
		}
		client, err := newClient(m.opts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n%s, %d workers, %v:\n", m.name, *workers, m.d)
		res, err := load(ctx, client, *agent, *workers, m.d, out)
		if err != nil {
			return err
		}
		results = append(results, res)
		fmt.Fprintf(out, "  => %s\n", summary(res, fake, *serverRate))
	}

	if len(results) > 1 {
		fmt.Fprintf(out, "\nSummary, %d workers", *workers)
		if fake {
			fmt.Fprintf(out, ", server allowing %.0f requests/s", *serverRate)
		}
		fmt.Fprintln(out, ":")

		table(out, modes, results, fake, *serverRate)
	}
	return nil
}

// share is the part of the limit the run's calls a second made, over the
// whole run and over its second half, where the pace has settled.
func (res result) share(serverRate float64) (all, settled float64) {
	all = float64(res.ok) / res.elapsed.Seconds() / serverRate
	n := max(len(res.perSec)/2, 1)
	var sum int64
	for _, k := range res.perSec[max(len(res.perSec)-n, 0):] {
		sum += k
	}
	return all, float64(sum) / float64(n) / serverRate
}

// summary says in a line what a run got through.
func summary(res result, fake bool, serverRate float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.1f ok/s", float64(res.ok)/res.elapsed.Seconds())
	if fake {
		all, settled := res.share(serverRate)
		fmt.Fprintf(&b, ": %.0f%% of the limit (%.0f%% over the last %ds)", 100*all, 100*settled, max(len(res.perSec)/2, 1))
	}
	fmt.Fprintf(&b, ", %d 429s, %d errors", res.throttled, res.errs)
	return b.String()
}

// table prints the runs side by side.
func table(out io.Writer, modes []mode, results []result, fake bool, serverRate float64) {
	fmt.Fprintf(out, "  %-34s %5s %6s", "run", "time", "ok/s")
	if fake {
		fmt.Fprintf(out, " %10s %10s", "% of limit", "last half")
	}
	fmt.Fprintf(out, " %6s %6s\n", "429s", "errors")
	for i, res := range results {
		fmt.Fprintf(out, "  %-34s %4.0fs %6.1f", modes[i].name, res.elapsed.Seconds(), float64(res.ok)/res.elapsed.Seconds())
		if fake {
			all, settled := res.share(serverRate)
			fmt.Fprintf(out, " %9.0f%% %9.0f%%", 100*all, 100*settled)
		}
		fmt.Fprintf(out, " %6d %6d\n", res.throttled, res.errs)
	}
}

// load runs the workers for d, printing a line a second, and returns
// what got through. A call that fails for a reason waiting cannot fix (a
// wrong key or agent) ends the run with its error.
func load(ctx context.Context, client *agents.Client, agent string, workers int, d time.Duration, out io.Writer) (result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()

	var ok, errs atomic.Int64
	var fatal error
	var fatalOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := client.ListSessions(ctx, agent, agents.ListSessionsParams{Limit: 1})
				switch {
				case err == nil:
					ok.Add(1)
				case ctx.Err() != nil:
					// The run ended during the call.
				case errors.Is(err, agents.ErrInvalidRequest), errors.Is(err, agents.ErrUnauthorized),
					errors.Is(err, agents.ErrForbidden), errors.Is(err, agents.ErrAgentNotFound):
					fatalOnce.Do(func() { fatal = err })
					cancel()
				default:
					errs.Add(1)
				}
			}
		})
	}

	fmt.Fprintf(out, "  %4s %5s %5s %5s %5s %9s  %-8s %-18s %s\n",
		"", "ok/s", "429/s", "err/s", "holds", "in flight", "pacing", "pace", "server's limit")
	// The run ends on its last tick, so that it prints a line for every
	// second it lasted.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var res result
	var lastHolds int64
	for sec := 1; ; sec++ {
		select {
		case <-ctx.Done():
			res.elapsed = time.Since(start)
			wg.Wait()
			if fatal != nil {
				return result{}, fatal
			}
			res.ok, res.errs, res.throttled = ok.Load(), errs.Load(), client.PacingStats().Throttled
			return res, nil
		case <-tick.C:
			st := client.PacingStats()
			o, e := ok.Load(), errs.Load()
			fmt.Fprintf(out, "  %3ds %5d %5d %5d %5d %9d  %-8s %-18s %s\n", sec,
				o-res.ok, st.Throttled-res.throttled, e-res.errs, st.Holds-lastHolds,
				st.InFlight, st.Mode, pace(st), serverLimit(st))
			res.perSec = append(res.perSec, o-res.ok)
			res.ok, res.errs, res.throttled, lastHolds = o, e, st.Throttled, st.Holds
			if time.Duration(sec)*time.Second >= d {
				cancel()
			}
		}
	}
}

// pace is the pace the Client keeps: a rate, a cap on requests in
// flight, both, or "-" when nothing holds it back.
func pace(st agents.PacingStats) string {
	var p []string
	if st.Rate > 0 {
		p = append(p, fmt.Sprintf("%.1f/s", st.Rate))
	}
	if st.Concurrency > 0 {
		p = append(p, fmt.Sprintf("<=%d in flight", st.Concurrency))
	}
	if len(p) == 0 {
		return "-"
	}
	return strings.Join(p, ", ")
}

// serverLimit is the server's limit as its rate-limit headers last gave
// it; a server that sends none leaves the Client to learn it from 429s.
func serverLimit(st agents.PacingStats) string {
	if st.ServerLimit <= 0 {
		return "not announced"
	}
	return fmt.Sprintf("%d per %v, %d left", st.ServerLimit, st.ServerWindow, st.ServerRemaining)
}
