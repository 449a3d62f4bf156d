package main

import (
	"slices"
	"time"

	"github.com/agentsapi/agents-go/internal/measure"
)

// metrics are the per-run figures the table reports.
type metrics struct {
	pctLimit   float64 // successful calls/s ÷ the shape's limit, in %
	callsPerS  float64 // successful calls/s
	tooManyPS  float64 // 429s the server sent per second
	pctErr     float64 // calls that returned an error, in % of calls that returned
	jain       float64 // Jain's fairness index over per-client goodput
	okCalls    int64
	errCalls   int64
	firstError string
}

func (c cell) metrics(r result) metrics {
	secs := r.elapsed.Seconds()
	m := metrics{
		callsPerS: float64(r.ok) / secs,
		tooManyPS: float64(r.sent429) / secs,
		jain:      measure.Jain(r.perClient),
		okCalls:   r.ok,
		errCalls:  r.errs,
	}
	if lim := c.shape.limit(c.d); lim > 0 {
		m.pctLimit = 100 * m.callsPerS / lim
	}
	if n := r.ok + r.errs; n > 0 {
		m.pctErr = 100 * float64(r.errs) / float64(n)
	}
	if r.firstErr != nil {
		m.firstError = r.firstErr.Error()
	}
	return m
}

// spread is the median and range of one figure over a cell's runs.
type spread struct{ med, min, max float64 }

func spreadOf(ms []metrics, f func(metrics) float64) spread {
	vs := make([]float64, len(ms))
	for i, m := range ms {
		vs[i] = f(m)
	}
	slices.Sort(vs)
	n := len(vs)
	if n == 0 {
		return spread{}
	}
	med := vs[n/2]
	if n%2 == 0 {
		med = (vs[n/2-1] + vs[n/2]) / 2
	}
	return spread{med: med, min: vs[0], max: vs[n-1]}
}

// estimate says how long a plan takes: the rate-limited cells in
// batches of parallel, the unlimited ones alone, plus a second of set-up
// and stop per run.
func estimate(limited, unlimited int, d time.Duration, parallel int) time.Duration {
	batches := (limited + parallel - 1) / parallel
	return time.Duration(batches+unlimited) * (d + time.Second)
}
