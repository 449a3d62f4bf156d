package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/agentsapi/agents-go/agentstest"
)

// header heads the lines printed each second: the fleet's calls that
// succeeded and its 429s, then each worker's, as "ok (429s)".
func header(out io.Writer, ws []*worker) {
	fmt.Fprintf(out, "\n%5s %6s %5s   per worker, ok/s (429s):\n", "", "fleet", "")
	fmt.Fprintf(out, "%5s %6s %5s  ", "", "ok/s", "429s")
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintf(&b, " %-9s", w.name)
	}
	fmt.Fprintln(out, strings.TrimRight(b.String(), " "))
}

// line prints one second.
func line(out io.Writer, sec int, delta []counts) {
	var all counts
	var b strings.Builder
	for _, d := range delta {
		all.ok += d.ok
		all.throttled += d.throttled
		fmt.Fprintf(&b, " %-9s", fmt.Sprintf("%d (%d)", d.ok, d.throttled))
	}
	fmt.Fprintf(out, "%4ds %6d %5d  %s\n", sec, all.ok, all.throttled, strings.TrimRight(b.String(), " "))
}

// summary prints the fleet's rate, each worker's share of it and the
// errors; fake, when not nil, is what the embedded fake API counted,
// against which the fleet's rate is checked.
func summary(out io.Writer, cfg config, res result, fake *agentstest.Stats) {
	secs := res.elapsed.Seconds()
	var all counts
	oks := make([]int64, len(res.total))
	for i, c := range res.total {
		all.ok += c.ok
		all.errs += c.errs
		all.throttled += c.throttled
		oks[i] = c.ok
	}
	fmt.Fprintf(out, "\nSummary, %d workers for %.1fs:\n", len(res.total), secs)
	fmt.Fprintf(out, "  fleet: %.1f ok/s", float64(all.ok)/secs)
	switch {
	case fake != nil:
		fmt.Fprintf(out, " (%.0f%% of the server's %g/s)", 100*float64(all.ok)/secs/cfg.serverRate, cfg.serverRate)
	case cfg.limit > 0:
		fmt.Fprintf(out, " (%.0f%% of the %g/s limit)", 100*float64(all.ok)/secs/cfg.limit, cfg.limit)
	}
	fmt.Fprintf(out, ", %d 429s (%.2f/s), %d errors\n", all.throttled, float64(all.throttled)/secs, all.errs)
	if fake != nil {
		fmt.Fprintf(out, "  the server received %.1f requests/s: %d served, %d answered 429\n",
			float64(fake.Requests)/secs, fake.Served, fake.Throttled)
	}
	fmt.Fprintf(out, "  %-6s %6s %6s %6s %6s\n", "worker", "ok/s", "share", "429s", "errors")
	for i, c := range res.total {
		share := 0.0
		if all.ok > 0 {
			share = 100 * float64(c.ok) / float64(all.ok)
		}
		fmt.Fprintf(out, "  %-6s %6.1f %5.1f%% %6d %6d\n", fmt.Sprintf("w%d", i+1), float64(c.ok)/secs, share, c.throttled, c.errs)
	}
	fmt.Fprintf(out, "  fairness (Jain's index, 1 = equal shares): %.3f\n", jain(oks))
}

// jain is Jain's fairness index, (Σx)² ÷ (n·Σx²): 1 when every worker
// got the same, 1/n when one got everything; 1 for no calls at all.
func jain(xs []int64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += float64(x)
		sq += float64(x) * float64(x)
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(xs)) * sq)
}
