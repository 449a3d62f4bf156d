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
// timeout to timeout·(1+1/32), never less, for the cost of an entry in
// the shared context's map of children (and, for a slot below, of an
// atomic count).
//
//   - Calls whose context cannot end (Done is nil, as
//     context.Background's) all share the epoch's bound.
//   - Calls whose context can end share one only with calls whose context
//     ends with theirs: the same Done channel, as every call of a worker
//     pool run under one root context has. A Done channel gets a slot of
//     its own once it recurs (seen twice in a row among those without
//     one), so that a server's per-request contexts, seen once each, do
//     not pay for slots they would not reuse; an epoch has boundSlots.
//     While a slot's attempts are in flight it listens to their context
//     (a context.AfterFunc, made when the count of attempts goes from 0
//     to 1), and it stops when the last one ends, so that no goroutine or
//     registration outlives the calls. Cancelling that context ends the
//     slot's bound a moment later, from the goroutine AfterFunc runs,
//     rather than within the cancel call itself. The first attempt of
//     each epoch under a root still gets a bound of its own, and a root
//     that strictly alternates with contexts seen once never gets a slot.
//   - A call whose deadline ends before the epoch's bound would gets no
//     bound: its own deadline comes first.
//   - Any other call gets a bound of its own: its Done has no slot, or
//     its WithCallAttemptTimeout differs from the Client's.
//
// A shared bound is not ended with one attempt: what the caller's
// RoundTripper hangs below an attempt's context, without cancelling it
// itself (as net/http's transport does), lives until the bound ends, or
// until the caller's context ends while the slot listens.
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
	// seen is the last Done channel (a <-chan struct{}) that found no
	// slot: a slot is made for one seen twice in a row. Every attempt
	// reads slots, and attempts without one write seen: a cache line
	// apart, the reads are not slowed by the writes.
	_    [64]byte
	seen atomic.Value
}

// sharedBound is a bound shared by calls whose contexts end together.
type sharedBound struct {
	done <-chan struct{}         // the calls' contexts' Done
	ctx  context.Context         // ends at the epoch's deadline or with them
	end  context.CancelCauseFunc // ends ctx with the calls' cause
	// caller is the context of the call that made the bound; its Done is
	// done, and its cause is theirs. It is kept, values and all, until
	// the bound ends: at most four such contexts an epoch, for about
	// timeout after it.
	caller context.Context

	refs atomic.Int64 // attempts in flight under ctx
	// mu orders the listening's changes, which happen only when refs
	// goes from 0 to 1 or back, and when ctx ends.
	mu     sync.Mutex
	unhook func() bool // stops listening to caller; nil when not listening
}

func newAttemptBounds(timeout time.Duration) *attemptBounds {
	return &attemptBounds{timeout: timeout, share: timeout / boundShare}
}

// bound returns the context an attempt of a call with context ctx that
// starts at now is sent with, and what ends it once the attempt is over:
// a cancel func, or a shared bound to release. The context's cause is
// errAttemptTimeout once the bound has passed.
func (b *attemptBounds) bound(ctx context.Context, now time.Time) (context.Context, context.CancelFunc, *sharedBound) {
	e := b.cur.Load()
	if e == nil || !now.Before(e.until) {
		e = b.next(now)
	}
	done := ctx.Done()
	if done == nil {
		if ctx == context.Background() || ctx == context.TODO() {
			return e.ctx, noop, nil
		}
		return &boundValues{Context: ctx, bound: e.ctx}, noop, nil
	}
	if dl, ok := ctx.Deadline(); ok && !dl.After(e.deadline) {
		// The call's deadline comes first: a bound could only report a
		// later deadline than the call has.
		return ctx, noop, nil
	}
	if ctx.Err() == nil {
		// An ended context gets a bound of its own, ended at once; a
		// shared one hears of the end a moment later.
		if s := e.shared(ctx, done); s != nil {
			return &boundValues{Context: ctx, bound: s.ctx}, noop, s
		}
	}
	actx, cancel := context.WithDeadlineCause(ctx, e.deadline, errAttemptTimeout)
	return actx, cancel, nil
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
// done, acquired for one attempt; nil when it has none and makes none.
func (e *boundEpoch) shared(ctx context.Context, done <-chan struct{}) *sharedBound {
	for i := range e.slots {
		s := e.slots[i].Load()
		if s == nil {
			if prev, _ := e.seen.Load().(<-chan struct{}); prev != done {
				e.seen.Store(done)
				return nil // not seen just before: perhaps never again
			}
			s = e.share(ctx, done)
			if !e.slots[i].CompareAndSwap(nil, s) {
				s.end(nil) // another goroutine filled the slot first
				s = e.slots[i].Load()
			}
		}
		if s.done == done {
			s.acquire()
			return s
		}
	}
	return nil
}

// share makes a bound that ends at the epoch's deadline, or when ctx
// does (while it has attempts in flight), with ctx's cause. It carries
// none of ctx's values: those come from each call's own context (see
// boundValues).
func (e *boundEpoch) share(ctx context.Context, done <-chan struct{}) *sharedBound {
	base, end := context.WithCancelCause(context.Background())
	bctx, stopTimer := context.WithDeadlineCause(base, e.deadline, errAttemptTimeout)
	s := &sharedBound{done: done, ctx: bctx, end: end, caller: ctx}
	context.AfterFunc(bctx, func() {
		stopTimer()
		s.mu.Lock()
		s.stopListening()
		s.mu.Unlock()
	})
	return s
}

// acquire counts an attempt in, and listens to the calls' context while
// any is in flight. Only the attempt that brings the count to 1 takes
// the lock; under it, the count as it is then decides, so that whichever
// of a racing release and acquire locks last leaves the listening right.
func (s *sharedBound) acquire() {
	if s.refs.Add(1) != 1 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs.Load() > 0 && s.unhook == nil && s.ctx.Err() == nil {
		s.unhook = context.AfterFunc(s.caller, func() { s.end(context.Cause(s.caller)) })
	}
}

// release counts an attempt out; the last one stops the listening, which
// for a context of a type of the caller's own is a goroutine.
func (s *sharedBound) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs.Load() == 0 {
		s.stopListening()
	}
}

func (s *sharedBound) stopListening() {
	if s.unhook != nil {
		s.unhook()
		s.unhook = nil
	}
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
