package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	agents "github.com/agentsapi/agents-go"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

// worker is what one process of a fleet would have.
type worker struct {
	name    string
	rdb     *redis.Client
	limiter *agentsredis.Limiter
	client  *agents.Client

	ok, errs atomic.Int64 // calls that succeeded, and that failed
	// throttled counts 429s: attempts, since the Client retries them.
	throttled atomic.Int64
}

// hooks counts the worker's 429s, which the Client retries and its
// caller never sees.
func (w *worker) hooks() agents.Hooks {
	return agents.Hooks{OnAttemptDone: func(_ context.Context, e agents.AttemptDoneEvent) {
		if e.StatusCode == http.StatusTooManyRequests {
			w.throttled.Add(1)
		}
	}}
}

// counts is a snapshot of a worker's counters.
type counts struct{ ok, errs, throttled int64 }

func (w *worker) counts() counts {
	return counts{w.ok.Load(), w.errs.Load(), w.throttled.Load()}
}

func (c counts) minus(d counts) counts {
	return counts{c.ok - d.ok, c.errs - d.errs, c.throttled - d.throttled}
}

// result is what a run got through.
type result struct {
	elapsed time.Duration
	total   []counts // per worker, over the run
}

// load runs every worker for cfg.duration, or until ctx ends, printing a
// line a second. A call that fails for a reason waiting cannot fix (a
// wrong key or agent) ends the run with its error.
func load(ctx context.Context, ws []*worker, cfg config, out io.Writer) (result, error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()

	var (
		fatal     error
		fatalOnce sync.Once
		wg        sync.WaitGroup
	)
	for _, w := range ws {
		for range cfg.goroutines {
			wg.Go(func() {
				for runCtx.Err() == nil {
					_, err := w.client.ListSessions(runCtx, cfg.agent, agents.ListSessionsParams{Limit: 1})
					switch {
					case err == nil:
						w.ok.Add(1)
					case runCtx.Err() != nil:
						// The run ended during the call.
					case errors.Is(err, agents.ErrInvalidRequest), errors.Is(err, agents.ErrUnauthorized),
						errors.Is(err, agents.ErrForbidden), errors.Is(err, agents.ErrAgentNotFound):
						fatalOnce.Do(func() { fatal = err })
						cancel()
					default:
						w.errs.Add(1)
					}
				}
			})
		}
	}

	header(out, ws)
	last := make([]counts, len(ws))
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for sec := 1; ; sec++ {
		select {
		case <-runCtx.Done():
			wg.Wait()
			if fatal != nil {
				return result{}, fatal
			}
			res := result{elapsed: time.Since(start), total: make([]counts, len(ws))}
			for i, w := range ws {
				res.total[i] = w.counts()
			}
			return res, nil
		case <-tick.C:
			now := make([]counts, len(ws))
			delta := make([]counts, len(ws))
			for i, w := range ws {
				now[i] = w.counts()
				delta[i] = now[i].minus(last[i])
			}
			line(out, sec, delta)
			last = now
			// The run ends on its last tick, so that every second it
			// lasted has its line.
			if time.Duration(sec)*time.Second >= cfg.duration {
				cancel()
			}
		}
	}
}
