package agents

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// pacer is what every attempt on a Client passes before it is sent: the
// fixed rate of WithRateLimit, the Client-wide hold after a 429 with
// Retry-After, and the controller's pace (a rate, a cap on requests in
// flight, the quota's guard). It is shared by all goroutines using the
// Client; the decisions are the controller's (control.go), and this type
// only carries them out with real time, timers and a queue.
//
// Callers queue for the head position and only the head waits for a
// slot, re-reading the pace whenever something changes: a slot reserved
// at an old rate would otherwise stand long after the rate had doubled.
type pacer struct {
	maxWait  time.Duration
	fixed    *rate.Limiter // WithRateLimit; nil when not set
	adaptive bool
	scale    float64 // of the waits the server names; see internal/kit
	// onHold and onPacing are the Client's hooks, called outside p.mu.
	onHold   func(HoldEvent)
	onPacing func(PacingEvent)

	inflight atomic.Int64
	queued   atomic.Int64 // callers in waitTurn
	seq      atomic.Uint64
	// free is set while nothing can delay a request (no hold, no pace,
	// no fixed limit), so that a Client with no limit in sight pays two
	// atomic adds per attempt and takes no lock before sending.
	free atomic.Bool

	head chan struct{} // held by the one caller that waits for a slot

	mu       sync.Mutex
	ctl      *controller
	lim      *rate.Limiter // the controller's rate and burst (one without headers, two with)
	hold     hold
	wake     chan struct{} // closed on news while the head sleeps
	news     chan struct{} // closed when a hold begins or its spread moves on
	counters PacingStats   // the running totals of PacingStats
}

// hold is the Client-wide pause after a 429 with Retry-After. The calls
// it held back are let go spread over a tenth of it (at most maxStagger)
// after its end, not all in the same millisecond.
type hold struct {
	until time.Time
	from  time.Time
	said  time.Time // the server's time, which may be past the bounded until
	by    *APIError // the 429 that set it
	next  time.Time // while spreading: the next release
}

// spread is how long after the hold its waiters are let go over.
func (h hold) spread() time.Duration { return min(h.until.Sub(h.from)/10, maxStagger) }

// maxHold bounds a Client-wide hold, so that one absurd Retry-After cannot
// disable a Client: after it, the calls held back are let go (spread as
// after any hold) and their answers say whether the server still refuses.
// A quota that rate-limit headers say is spent is bounded the same way.
const maxHold = time.Minute

// lateSlack is the part of a slot (its inverse) that a head may go early
// to make up for a late wake-up; see pacer.next. A 32nd was tried: at
// 98% of a server's rate it lets pairs come closer than the server's
// interval whenever one wake-up is late and the next is not.
const lateSlack = 64

// maxStagger bounds how far past the end of a hold a waiter may be spread,
// so that a Client's goroutines do not all resume in the same millisecond.
const maxStagger = 250 * time.Millisecond

func newPacer(maxWait time.Duration, fixed *rate.Limiter, adaptive bool) *pacer {
	p := &pacer{
		maxWait:  maxWait,
		fixed:    fixed,
		adaptive: adaptive,
		head:     make(chan struct{}, 1),
		ctl:      newController(),
		lim:      rate.NewLimiter(rate.Inf, 1),
	}
	p.counters.ServerRemaining = -1
	p.free.Store(fixed == nil)
	return p
}

// ticket is one request let through.
type ticket struct {
	seq      uint64
	sent     time.Time
	inflight int  // others in flight when it left
	free     bool // let through without the lock: the controller hears of it in done
}

// wait returns when a request may be sent.
func (p *pacer) wait(ctx context.Context) (ticket, error) {
	if p.free.Load() {
		t := p.let(time.Now())
		t.free = true
		return t, nil
	}
	return p.waitTurn(ctx)
}

func (p *pacer) let(now time.Time) ticket {
	return ticket{
		seq:      p.seq.Add(1),
		sent:     now,
		inflight: int(p.inflight.Add(1) - 1),
	}
}

// waitTurn queues for the head position, then waits out the hold and the
// controller's pace. Before queueing, a wait that is certain to pass the
// deadline (what is left of a hold, the head's next slot) is refused at
// once; a wait that only might is not, since the pace may rise meanwhile.
func (p *pacer) waitTurn(ctx context.Context) (_ ticket, err error) {
	// queued counts every caller in here, head or not, so that a hold's
	// spread knows how many it lets go.
	p.queued.Add(1)
	defer p.queued.Add(-1)
	// Callers waiting for the head position look again whenever a hold
	// begins or its spread moves on: none of them can send before the
	// head's next release, so one whose deadline falls before it gets
	// the hold's 429 then, rather than a bare deadline error later.
	for queued := false; !queued; {
		p.mu.Lock()
		at, why, _ := p.next(time.Now())
		err = p.refuse(ctx, at, why)
		if p.news == nil {
			p.news = make(chan struct{})
		}
		news := p.news
		p.mu.Unlock()
		if err != nil {
			return ticket{}, err
		}
		select {
		case p.head <- struct{}{}:
			queued = true
		case <-news:
		case <-ctx.Done():
			return ticket{}, p.ended(ctx)
		}
	}
	defer func() { <-p.head }()
	for {
		// The time is read under the lock, so that the limiter never
		// hears of a time earlier than one another caller gave it.
		p.mu.Lock()
		now := time.Now()
		at, why, full := p.next(now)
		held := why == waitHold
		if !full && !at.After(now) {
			p.lim.ReserveN(now, 1)
			if p.fixed != nil {
				p.fixed.ReserveN(now, 1)
			}
			if h := &p.hold; now.Before(h.until.Add(h.spread())) {
				// Spread the rest of the queue over what is left of the
				// spread, each at a random point of its share.
				n := max(p.queued.Load()-1, 1)
				gap := h.until.Add(h.spread()).Sub(now) / time.Duration(n)
				h.next = now.Add(gap/2 + rand.N(gap/2+1))
				p.tell()
			}
			t := p.let(now)
			p.ctl.sent(now, t.seq)
			p.free.Store(p.idle(now))
			p.mu.Unlock()
			return t, nil
		}
		if !full {
			if err := p.refuse(ctx, at, why); err != nil {
				p.mu.Unlock()
				return ticket{}, err
			}
		}
		var (
			evPace  PacingEvent
			changed bool
		)
		if !held {
			if p.onPacing != nil {
				before := p.view(now)
				p.ctl.demand(now, full)
				evPace, changed = p.changed(before, now, "probe")
			} else {
				p.ctl.demand(now, full)
			}
		}
		wake := make(chan struct{})
		p.wake = wake
		// Wake for the slot, or sooner if the pace may grow meanwhile.
		if g := p.ctl.growthAt(now); !held && g.After(now) && (full || g.Before(at)) {
			at, full = g, false
		}
		p.mu.Unlock()
		if changed {
			p.onPacing(evPace)
		}
		var timer *time.Timer
		var fired <-chan time.Time
		if !full {
			timer = time.NewTimer(at.Sub(now))
			fired = timer.C
		}
		select {
		case <-fired:
		case <-wake:
		case <-ctx.Done():
			err = p.ended(ctx)
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return ticket{}, err
		}
	}
}

// ended is the error for a wait that the context ended. A deadline that
// fell inside a hold (or the spread after it) comes with the hold's 429:
// the wait began because the deadline left room, and a wake-up late by a
// few milliseconds on a busy machine is no reason to hide why the call
// was waiting, which a refusal at the start would have said.
func (p *pacer) ended(ctx context.Context) error {
	err := ctxError(ctx)
	deadline, ok := ctx.Deadline()
	if !ok || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	p.mu.Lock()
	h := p.hold
	p.mu.Unlock()
	if h.by == nil || !deadline.Before(h.until.Add(h.spread())) {
		return err
	}
	e := *h.by
	e.RetryAfter = max(time.Until(h.said), 0)
	return errors.Join(&e, err)
}

// waitKind says what a wait is for, to word its refusal.
type waitKind uint8

const (
	waitNone  waitKind = iota
	waitHold           // the Client-wide hold after a 429, and its spread
	waitFixed          // WithRateLimit
	waitPace           // adaptive pacing
)

// next is the earliest time the head may send, what it waits for, and
// whether the cap on requests in flight is reached (then only an answer
// can free a place). WithRateLimit's slot is taken here, after the hold,
// so that slots do not pile up during a hold and go out at once after.
func (p *pacer) next(now time.Time) (at time.Time, why waitKind, full bool) {
	if h := p.hold; now.Before(h.until.Add(h.spread())) {
		if at = later(h.until, h.next); at.After(now) {
			return at, waitHold, false
		}
	}
	at = now
	if p.fixed != nil {
		if tok := p.fixed.TokensAt(now); tok < 1 {
			at = now.Add(time.Duration((1 - tok) / float64(p.fixed.Limit()) * float64(time.Second)))
			why = waitFixed
		}
	}
	if !p.adaptive {
		return at, why, false
	}
	pc := p.ctl.pace(now)
	if pc.n > 0 && int(p.inflight.Load()) >= pc.n {
		return time.Time{}, waitPace, true
	}
	fixedAt := at
	at = later(at, pc.notBefore)
	if r := rate.Limit(pc.r); pc.r == 0 {
		if p.lim.Limit() != rate.Inf {
			p.lim.SetLimitAt(now, rate.Inf)
		}
	} else {
		if p.lim.Limit() != r {
			p.lim.SetLimitAt(now, r)
		}
		if p.lim.Burst() != pc.burst {
			p.lim.SetBurstAt(now, pc.burst)
		}
		if tok := p.lim.TokensAt(at); tok < 1 {
			// The head may go up to a 64th of a slot before its token is
			// whole, in debt to the next slot: timers wake late (Go's by
			// about half a millisecond), and with a burst of one a head
			// that wakes late loses that time for good, 2 to 3% of the
			// rate at 50/s. The debt keeps the average at the rate, and
			// with a burst of one no two sends come closer than 63/64 of
			// a slot: under the controller's margin below the server's
			// rate (headroom), so the slack alone never brings a pair
			// closer than the server's own interval.
			slot := float64(time.Second) / pc.r
			at = at.Add(time.Duration(max((1-tok)*slot-slot/lateSlack, 0)))
		}
	}
	if at.After(fixedAt) {
		why = waitPace
	}
	return at, why, false
}

// idle reports whether nothing would delay a request now.
func (p *pacer) idle(now time.Time) bool {
	if p.fixed != nil || p.hold.until.Add(p.hold.spread()).After(now) {
		return false
	}
	if !p.adaptive {
		return true
	}
	pc := p.ctl.pace(now)
	return pc.r == 0 && pc.n == 0 && !pc.notBefore.After(now) && !p.ctl.quota.active(now)
}

// refuse returns an error when waiting until at is longer than the Client
// allows or would pass the context's deadline: for a hold, the 429 that
// set it, with RetryAfter set to what is left of it.
func (p *pacer) refuse(ctx context.Context, at time.Time, why waitKind) error {
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	switch why {
	case waitNone:
		return nil
	case waitFixed:
		return p.refusePace(ctx, d, "WithRateLimit")
	case waitPace:
		return p.refusePace(ctx, d, "adaptive pacing")
	}
	// A hold the server asked to last longer than the Client may wait
	// fails at once, although the hold itself ends at its bound.
	said := max(time.Until(p.hold.said), d)
	if said <= p.maxWait && !pastDeadline(ctx, d) {
		return nil
	}
	e := *p.hold.by
	e.RetryAfter = said
	return &e
}

func (p *pacer) refusePace(ctx context.Context, d time.Duration, what string) error {
	switch {
	case d > p.maxWait:
		return &paceError{what: what, wait: d, limit: p.maxWait}
	case pastDeadline(ctx, d):
		return &paceError{what: what, wait: d, deadline: true}
	}
	return nil
}

// done records the answer to a request let through with t: status is 0,
// and h nil, when the attempt failed in transport.
func (p *pacer) done(t ticket, status int, h http.Header) {
	p.inflight.Add(-1)
	now := time.Now()
	a := answer{seq: t.seq, sent: t.sent, recv: now, inflight: t.inflight, status: status}
	if status != 0 && p.adaptive && hasQuotaHeaders(h) {
		a.quota, a.hasQuota = parseQuota(h, now)
	}
	var quiet, said time.Time
	if a.status == http.StatusTooManyRequests {
		if d, ok := retryAfter(h, now); ok {
			a.retryAfter = d
			quiet, said = now.Add(scaled(min(d, maxHold), p.scale)), now.Add(d)
		}
	}

	var (
		held    bool
		evHold  HoldEvent
		evPace  PacingEvent
		changed bool
	)
	p.mu.Lock()
	var before paceView
	if p.onPacing != nil && p.adaptive {
		before = p.view(now)
	}
	p.counters.Requests++
	if a.status == http.StatusTooManyRequests {
		p.counters.Throttled++
		if quiet.After(now) && quiet.After(p.hold.until) {
			if !p.hold.until.After(now) {
				p.counters.Holds++
			}
			held = p.onHold != nil
			reqID := clean(h.Get("X-Request-Id"), 200)
			evHold = HoldEvent{Until: quiet, Duration: quiet.Sub(now), RequestID: reqID}
			// The hold is set before pacing hears of the 429, so that
			// requests let through meanwhile are sent after the hold.
			p.tell()
			p.hold = hold{until: quiet, from: now, said: said, by: &APIError{
				StatusCode: http.StatusTooManyRequests,
				Code:       codeRateLimited,
				Message:    "the client is holding back until the server's Retry-After has passed",
				RequestID:  reqID,
			}}
			p.free.Store(false)
		}
	}
	if t.free && p.adaptive {
		p.ctl.sent(t.sent, t.seq)
	}
	if status != 0 && p.adaptive {
		p.ctl.answered(a, quiet)
		if a.hasQuota {
			p.counters.ServerLimit = p.ctl.quota.limit
			p.counters.ServerWindow = p.ctl.quota.window
			p.counters.ServerRemaining = p.ctl.quota.remaining
		}
		if p.free.Load() && !p.idle(now) {
			p.free.Store(false)
		}
	}
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
	if p.onPacing != nil && p.adaptive {
		reason := "answer"
		switch {
		case a.status == http.StatusTooManyRequests:
			reason = "429"
		case a.hasQuota:
			reason = "headers"
		}
		evPace, changed = p.changed(before, now, reason)
	}
	p.mu.Unlock()
	// The hooks run outside the lock: they may read PacingStats.
	if held {
		p.onHold(evHold)
	}
	if changed {
		p.onPacing(evPace)
	}
}

// paceView is what a PacingEvent reports, to tell when it changed.
type paceView struct {
	rate  float64
	conc  int
	limit int
}

// view is the pace now; p.mu is held.
func (p *pacer) view(now time.Time) paceView {
	pc := p.ctl.pace(now)
	v := paceView{rate: pc.r, conc: pc.n}
	if p.ctl.quota.active(now) {
		v.limit = p.ctl.quota.limit
	}
	return v
}

// changed returns the PacingEvent for a pace that moved from before;
// p.mu is held.
func (p *pacer) changed(before paceView, now time.Time, reason string) (PacingEvent, bool) {
	after := p.view(now)
	if after == before {
		return PacingEvent{}, false
	}
	return PacingEvent{Rate: after.rate, Concurrency: after.conc, Limit: after.limit, Reason: reason}, true
}

// tell wakes the callers waiting for the head position; p.mu is held.
func (p *pacer) tell() {
	if p.news != nil {
		close(p.news)
		p.news = nil
	}
}

// retried counts a retry that a call decided on, for PacingStats.
func (p *pacer) retried() {
	p.mu.Lock()
	p.counters.Retries++
	p.mu.Unlock()
}

// stats returns what the pacer believes and has done.
func (p *pacer) stats() PacingStats {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.counters
	s.InFlight = int(p.inflight.Load())
	if p.hold.until.After(now) {
		s.HoldUntil = p.hold.until
	}
	switch {
	case p.fixed != nil && !p.adaptive:
		s.Mode, s.Rate = "fixed", float64(p.fixed.Limit())
	case !p.adaptive:
		s.Mode = "off"
	case p.ctl.quota.active(now):
		s.Mode = "headers"
	case p.ctl.rate.known || p.ctl.conc.cap > 0:
		s.Mode = "learned"
	default:
		s.Mode = "unpaced"
	}
	if p.adaptive {
		pc := p.ctl.pace(now)
		s.Rate, s.Concurrency = pc.r, pc.n
	}
	return s
}

func pastDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Now().Add(d).After(deadline)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctxError(ctx)
	case <-t.C:
		return nil
	}
}

func ctxError(ctx context.Context) error {
	return fmt.Errorf("agents: %w", context.Cause(ctx))
}

// paceError is a wait for pacing that the Client would not start: longer
// than WithMaxRetryWait, or ending after the context's deadline. It
// matches context.DeadlineExceeded in the second case, and
// ErrRateLimitExceeded in both: the Client's own limit was reached.
type paceError struct {
	what     string
	wait     time.Duration
	limit    time.Duration
	deadline bool
}

func (e *paceError) Error() string {
	if e.deadline {
		return fmt.Sprintf("agents: client-side rate limit (%s): the next slot is %v away, past the context's deadline", e.what, e.wait.Round(time.Millisecond))
	}
	return fmt.Sprintf("agents: client-side rate limit (%s): the next slot is %v away, longer than WithMaxRetryWait (%v)", e.what, e.wait.Round(time.Millisecond), e.limit)
}

func (e *paceError) Unwrap() []error {
	if e.deadline {
		return []error{ErrRateLimitExceeded, context.DeadlineExceeded}
	}
	return []error{ErrRateLimitExceeded}
}
