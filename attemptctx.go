package agents

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// attemptCtx is an attempt's context with the attempt timeout, used when
// the call's context can never end (its Done is nil, as Background's):
// context.WithTimeoutCause would allocate a timer and its closure for
// every attempt, and the transport's own context under it a map of
// children, together a fifth of what a call without them allocates. This
// one takes its timer from the call, which keeps it between attempts and
// calls, and keeps the functions that contexts derived from it register
// (through AfterFunc, which package context looks for) in a slice.
//
// Its Err is context.DeadlineExceeded when the timeout fired and
// context.Canceled when the attempt ended first, as a timerCtx's; since
// the call's context cannot end, nothing else ends it. context.Cause
// returns the same error (a timerCtx's would be errAttemptTimeout), so
// timedOut asks the attemptCtx itself.
type attemptCtx struct {
	parent   context.Context // Done is nil
	deadline time.Time

	mu     sync.Mutex
	done   chan struct{} // made by the first Done, or closedChan once ended
	err    error
	afters []func() // registered by AfterFunc and not yet stopped or run
}

// closedChan is the Done of an attemptCtx that ended before anyone asked.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *attemptCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *attemptCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *attemptCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
	}
	return c.done
}

func (c *attemptCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *attemptCtx) String() string { return "agents attempt context" }

// AfterFunc arranges for f to run once c ends; package context calls it
// for every context derived from c (which it then cancels through f)
// instead of starting a goroutine to watch c.Done. stop, as context's own,
// reports whether it kept f from running.
func (c *attemptCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	i := len(c.afters)
	c.afters = append(c.afters, f)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if i >= len(c.afters) || c.afters[i] == nil {
			return false
		}
		c.afters[i] = nil
		return true
	}
}

// end ends c with err, the first time only, and runs what AfterFunc
// registered, as a cancelCtx cancels its children: at once, in order.
func (c *attemptCtx) end(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for _, f := range afters {
		if f != nil {
			f()
		}
	}
}

// attemptTimer is the timer a call keeps for its attempts' timeouts.
type attemptTimer struct {
	t     *time.Timer
	armed atomic.Pointer[attemptCtx] // the attempt it is set for
}

// arm returns a context for one attempt of parent that ends after d.
func (at *attemptTimer) arm(parent context.Context, d time.Duration) *attemptCtx {
	c := &attemptCtx{parent: parent, deadline: time.Now().Add(d)}
	at.armed.Store(c)
	if at.t == nil {
		at.t = time.AfterFunc(d, at.fire)
	} else {
		at.t.Reset(d)
	}
	return c
}

// fire ends the armed attempt if its deadline has passed. A firing may
// run late, after its attempt ended and the next one was armed (Stop
// cannot take back a firing under way): the deadline check leaves the
// next one alone, and its own Reset fires again when it is due.
func (at *attemptTimer) fire() {
	c := at.armed.Load()
	if c == nil || time.Now().Before(c.deadline) {
		return
	}
	if at.armed.CompareAndSwap(c, nil) {
		c.end(context.DeadlineExceeded)
	}
}

// disarm ends an attempt that is over: its context is canceled, as a
// timerCtx's cancel does, and the timer stopped if it was still set for
// it.
func (at *attemptTimer) disarm(c *attemptCtx) {
	if at.armed.CompareAndSwap(c, nil) {
		at.t.Stop()
	}
	c.end(context.Canceled)
}
