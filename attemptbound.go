package agents

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// boundShare is the part of the attempt timeout by which a shared bound
// may outlast it: attempts that start within timeout/boundShare of each
// other share one bound, whose deadline is timeout after the last of
// them may start.
const boundShare = 32

// boundSlots is how many calls' contexts that can end one epoch shares a
// bound with: enough for the root contexts of a few worker pools, few
// enough to look through on every attempt.
const boundSlots = 4

// attemptBounds hands out the contexts that bound attempts by the
// Client's WithAttemptTimeout.
//
// A context and a timer per attempt cost about 5% of a call to a fast
// server: the context, its timer, and the map each one grows when the
// transport hangs its own context below it. Instead, attempts that start
// in the same slice of time (an epoch, timeout/32 long) share one bound,
// whose deadline is timeout after the epoch ends: an attempt is bounded by
// timeout to timeout·(1+1/32), never less, for the cost of an entry in a
// map. Calls whose context cannot end (Done is nil, as
// context.Background's) all share the epoch's bound. Calls whose context
// can end share one only with calls whose context ends with theirs (the
// same Done channel, as every call of a worker pool run under one root
// context has); the first boundSlots such groups of each epoch get one,
// and the rest a bound each, so that a server's per-request contexts cost
// no more than a bound each would. A call whose
// WithCallAttemptTimeout differs from the Client's timeout gets a bound
// of its own too.
//
// A shared bound is never cancelled early: a failed attempt's context
// stays live until the bound's deadline or the call's context ends,
// which is what the transport's own context below it is for.
//
// The zero value is not usable; newAttemptBounds makes one. It is safe
// for concurrent use.
type attemptBounds struct {
	timeout time.Duration
	share   time.Duration // how long one epoch hands out its bounds
	cur     atomic.Pointer[boundEpoch]
	mu      sync.Mutex // makes the next epoch; the fast path only loads cur
}

// boundEpoch is the bounds handed out to attempts that start before
// until; each ends timeout after it.
type boundEpoch struct {
	until    time.Time
	deadline time.Time
	ctx      context.Context // for calls whose context cannot end
	// cancel is kept only to honour the context package's contract: an
	// epoch is never ended early, since attempts may still hang below
	// it, and its timer releases it at its deadline.
	cancel context.CancelFunc
	slots  [boundSlots]atomic.Pointer[sharedBound]
}

// sharedBound is a bound shared by calls whose contexts end together.
type sharedBound struct {
	done <-chan struct{}         // the calls' contexts' Done
	ctx  context.Context         // ends at the epoch's deadline or with them
	end  context.CancelCauseFunc // ends it early; only a bound never handed out is
	// unhooked is set once the bound has ended and no longer listens to
	// the calls' context; tests read it.
	unhooked atomic.Bool
}

func newAttemptBounds(timeout time.Duration) *attemptBounds {
	return &attemptBounds{timeout: timeout, share: max(timeout/boundShare, time.Millisecond)}
}

// bound returns the context an attempt of a call with context ctx that
// starts at now is sent with, and what ends it once the attempt is over.
// The context's cause is errAttemptTimeout once the bound has passed.
func (b *attemptBounds) bound(ctx context.Context, now time.Time) (context.Context, context.CancelFunc) {
	e := b.cur.Load()
	if e == nil || !now.Before(e.until) {
		e = b.next(now)
	}
	done := ctx.Done()
	if done == nil {
		if ctx == context.Background() || ctx == context.TODO() {
			return e.ctx, noop
		}
		return &boundValues{Context: ctx, bound: e.ctx}, noop
	}
	if ctx.Err() == nil {
		// An ended context gets a bound of its own, ended at once; a
		// shared one hears of the end a moment later, from a goroutine.
		if s := e.shared(ctx, done); s != nil {
			return &boundValues{Context: ctx, bound: s.ctx}, noop
		}
	}
	return context.WithDeadlineCause(ctx, e.deadline, errAttemptTimeout)
}

func (b *attemptBounds) next(now time.Time) *boundEpoch {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.cur.Load(); e != nil && now.Before(e.until) {
		return e // another goroutine made it first
	}
	until := now.Add(b.share)
	e := &boundEpoch{until: until, deadline: until.Add(b.timeout)}
	e.ctx, e.cancel = context.WithDeadlineCause(context.Background(), e.deadline, errAttemptTimeout)
	b.cur.Store(e)
	return e
}

// shared returns the epoch's bound for calls whose context ends with
// done, making it if a slot is free; nil when none is.
func (e *boundEpoch) shared(ctx context.Context, done <-chan struct{}) *sharedBound {
	for i := range e.slots {
		s := e.slots[i].Load()
		if s == nil {
			s = e.share(ctx, done)
			if e.slots[i].CompareAndSwap(nil, s) {
				return s
			}
			s.end(nil) // another goroutine filled the slot first
			s = e.slots[i].Load()
		}
		if s.done == done {
			return s
		}
	}
	return nil
}

// share makes a bound that ends at the epoch's deadline, or when ctx
// does, with ctx's cause. It carries none of ctx's values: those come
// from each call's own context (see boundValues).
func (e *boundEpoch) share(ctx context.Context, done <-chan struct{}) *sharedBound {
	base, end := context.WithCancelCause(context.Background())
	bctx, stopTimer := context.WithDeadlineCause(base, e.deadline, errAttemptTimeout)
	s := &sharedBound{done: done, ctx: bctx, end: end}
	unhook := context.AfterFunc(ctx, func() { end(context.Cause(ctx)) })
	// Once the bound has ended, the call's context no longer needs to
	// tell it: without this, a root context that lives as long as the
	// process would keep one registration per epoch.
	context.AfterFunc(bctx, func() {
		unhook()
		stopTimer()
		s.unhooked.Store(true)
	})
	return s
}

// boundValues is a call's context bounded by a shared bound: it ends with
// the bound, and its values are the call's. The bound, made from
// context.Background, has no values of its own, so it is asked first:
// that lets the context package find the bound's cancellation and hang a
// transport's context directly below it, without a goroutine per
// attempt, and lets context.Cause find errAttemptTimeout.
type boundValues struct {
	context.Context // the call's
	bound           context.Context
}

func (v *boundValues) Deadline() (time.Time, bool) { return v.bound.Deadline() }
func (v *boundValues) Done() <-chan struct{}       { return v.bound.Done() }
func (v *boundValues) Err() error                  { return v.bound.Err() }

func (v *boundValues) Value(key any) any {
	if val := v.bound.Value(key); val != nil {
		return val
	}
	return v.Context.Value(key)
}
