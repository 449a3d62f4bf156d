package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printTables prints one row per rate-limited shape and fleet size, with
// a group of columns per implementation, then the unlimited comparison.
func printTables(w io.Writer, o options, limited, unlimited []cell, results map[string][]metrics) {
	fleets := false
	for _, k := range o.clients {
		fleets = fleets || k > 1
	}
	if len(limited) > 0 {
		head := []string{"server's limiter", "clients"}
		for _, n := range o.impls {
			l := label(n)
			head = append(head, l+" % of limit", l+" 429/s", l+" err %")
			if fleets {
				head = append(head, l+" Jain")
			}
		}
		var rows [][]string
		for _, s := range o.shapes {
			if s.name == "unlimited" {
				continue
			}
			for _, k := range o.clients {
				row := []string{s.name, fmt.Sprint(k)}
				for _, n := range o.impls {
					ms := results[o.cell(s, n, k, nil).String()]
					row = append(row,
						fmtSpread(spreadOf(ms, func(m metrics) float64 { return m.pctLimit }), "%.0f"),
						fmtSpread(spreadOf(ms, func(m metrics) float64 { return m.tooManyPS }), "%.1f"),
						fmtSpread(spreadOf(ms, func(m metrics) float64 { return m.pctErr }), "%.1f"))
					if fleets {
						if k == 1 {
							row = append(row, "-")
						} else {
							row = append(row, fmtSpread(spreadOf(ms, func(m metrics) float64 { return m.jain }), "%.2f"))
						}
					}
				}
				rows = append(rows, row)
			}
		}
		fmt.Fprintf(w, "\n%d goroutines per cell, %v per run, median (min..max) of %d runs; %% of limit = successful calls/s ÷ limit (concurrency: ÷ 200/s; changing: ÷ the time-weighted 37.5/s)%s\n", o.workers, o.d, o.runs, outageNote(o.redisOutage))
		printTable(w, o.md, head, rows)
	}
	if len(unlimited) > 0 {
		hand := cell{shape: unlimited[0].shape, impl: impls[implHand], clients: 1, workers: o.unlimitedWorkers, d: o.d}
		base := spreadOf(results[hand.String()], func(m metrics) float64 { return m.callsPerS }).med
		head := []string{"no limit, " + fmt.Sprint(o.unlimitedWorkers) + " goroutines", "calls/s", "÷ hand-written", "err %"}
		var rows [][]string
		for _, c := range unlimited {
			ms := results[c.String()]
			cps := spreadOf(ms, func(m metrics) float64 { return m.callsPerS })
			ratio := "-"
			if base > 0 {
				ratio = fmt.Sprintf("%.2fx", cps.med/base)
			}
			rows = append(rows, []string{label(c.impl.name), fmtSpread(cps, "%.0f"), ratio,
				fmtSpread(spreadOf(ms, func(m metrics) float64 { return m.pctErr }), "%.1f")})
		}
		fmt.Fprintf(w, "\nmedian (min..max) of %d runs of %v; ratio of medians\n", o.runs, o.d)
		printTable(w, o.md, head, rows)
	}
}

func label(impl string) string {
	switch impl {
	case implSDK:
		return "agents-go default"
	case implRetryable:
		return "plain go-retryablehttp (10 s)"
	case implHand:
		return "hand-written net/http (64 idle conns)"
	case implSDKSharedT:
		return "agents-go, hand-written's transport"
	case implRedis:
		return "agentsredis, limit given"
	case implRedisLearn:
		return "agentsredis, limit learnt"
	}
	return impl
}

// fmtSpread shows a median with its range, or the median alone when all
// runs agree at the shown precision.
func fmtSpread(s spread, verb string) string {
	med, lo, hi := fmt.Sprintf(verb, s.med), fmt.Sprintf(verb, s.min), fmt.Sprintf(verb, s.max)
	if lo == hi {
		return med
	}
	return med + " (" + lo + ".." + hi + ")"
}

func printTable(w io.Writer, md bool, head []string, rows [][]string) {
	if md {
		fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
		fmt.Fprintln(w, "|"+strings.Repeat("---|", len(head)))
		for _, r := range rows {
			fmt.Fprintln(w, "| "+strings.Join(r, " | ")+" |")
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
