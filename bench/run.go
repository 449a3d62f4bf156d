package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// cell is one measurement: one shape, one implementation, a fleet of
// clients sharing workers goroutines, for d.
type cell struct {
	shape   shape
	impl    impl
	clients int
	workers int
	d       time.Duration
	// redis is the lab's Redis, for the redis impls; outage, when set,
	// is how long it is down from the middle of each of their runs.
	redis  *labRedis
	outage time.Duration
}

func (c cell) String() string {
	s := fmt.Sprintf("%s/%s/clients=%d/workers=%d", c.shape.name, c.impl.name, c.clients, c.workers)
	if c.outage > 0 {
		s += fmt.Sprintf("/outage=%v", c.outage)
	}
	return s
}

// result is what one run of a cell counted.
type result struct {
	ok, errs, cut int64   // calls that got the page, that failed, that the stop cut off
	sent200       int64   // pages the server sent
	sent429       int64   // 429s the server sent
	perClient     []int64 // successful calls per client, for Jain's index
	elapsed       time.Duration
	firstErr      error
	okPerSec      *secondCounts
	errPerSec     *secondCounts
	tooManyPerSec *secondCounts
}

// stopGrace bounds how long the workers may take to notice the stop;
// every implementation honours cancellation, so this is a safety net
// that keeps the lab from hanging, not a wait it expects to use.
const stopGrace = 30 * time.Second

// run measures c once against a fresh server. Calls get a context that
// is cancelled at the end, not one with a deadline, so that no client
// fails fast near the end because a wait would outlast the deadline;
// calls cut off by the stop are counted apart, not as errors.
func (c cell) run() (result, error) {
	start := time.Now()
	res := result{
		perClient:     make([]int64, c.clients),
		okPerSec:      newSecondCounts(start, c.d),
		errPerSec:     newSecondCounts(start, c.d),
		tooManyPerSec: newSecondCounts(start, c.d),
	}
	srv, err := newLabServer(c.shape, c.d, res.tooManyPerSec)
	if err != nil {
		return res, fmt.Errorf("bench: starting the %s server: %w", c.shape.name, err)
	}
	var closeOnce sync.Once
	closeServer := func() { closeOnce.Do(srv.Close) }
	defer closeServer()

	t := target{baseURL: srv.URL, limit: c.shape.limit(c.d)}
	if c.impl.redis {
		if c.redis == nil {
			return res, fmt.Errorf("bench: %s: no Redis to share the limit through", c)
		}
		// Each run starts with no shared state: no learnt rate, no hold.
		if err := c.redis.flush(); err != nil {
			return res, err
		}
		t.redis = c.redis
		defer c.redis.watchState()()
	}
	calls := make([]func(context.Context) error, c.clients)
	for i := range calls {
		call, release, err := c.impl.newCaller(t)
		if err != nil {
			return res, fmt.Errorf("bench: building %s client: %w", c.impl.name, err)
		}
		defer release()
		calls[i] = call
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ok, errs, cut atomic.Int64
	perClient := make([]atomic.Int64, c.clients)
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start = time.Now()
	res.okPerSec.start, res.errPerSec.start, res.tooManyPerSec.start = start, start, start
	for w := range c.workers {
		client := w % c.clients // the workers split evenly over the fleet
		wg.Go(func() {
			for ctx.Err() == nil {
				err := calls[client](ctx)
				now := time.Now()
				switch {
				case ctx.Err() != nil:
					if err != nil {
						cut.Add(1)
						continue
					}
					// A call that completed as the stop came still counts.
					fallthrough
				case err == nil:
					ok.Add(1)
					perClient[client].Add(1)
					res.okPerSec.add(now)
				default:
					errs.Add(1)
					res.errPerSec.add(now)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	outageDone := make(chan error, 1)
	if c.outage > 0 && c.impl.redis {
		go func() {
			mid := time.NewTimer(c.d / 2)
			defer mid.Stop()
			select {
			case <-mid.C:
				outageDone <- c.redis.outage(ctx, c.outage)
			case <-ctx.Done():
				outageDone <- nil
			}
		}()
	} else {
		outageDone <- nil
	}
	timer := time.NewTimer(c.d)
	<-timer.C
	cancel()
	res.elapsed = time.Since(start)

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopGrace):
		return res, fmt.Errorf("bench: %s: workers still busy %v after the stop", c, stopGrace)
	}
	// Redis is back (or never left) before the next run flushes it.
	if err := <-outageDone; err != nil {
		return res, fmt.Errorf("bench: %s: restarting Redis after the outage: %w", c, err)
	}
	// Close waits for the server's handlers, so its counts are final.
	closeServer()
	res.ok, res.errs, res.cut = ok.Load(), errs.Load(), cut.Load()
	res.sent200, res.sent429 = srv.sent200.Load(), srv.sent429.Load()
	for i := range perClient {
		res.perClient[i] = perClient[i].Load()
	}
	if e, _ := firstErr.Load().(error); e != nil {
		res.firstErr = e
	}
	return res, nil
}
