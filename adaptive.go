package agents

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptive paces a Client whose server limit is unknown. A 429 is
// expensive: its Retry-After holds the whole Client, so the design spends
// as few as it can.
//
//   - Until the first 429 it does not pace. The requests the server
//     accepted in the second before that 429 estimate its burst
//     allowance B.
//   - Slow start: from that burst, the rate doubles every slowStartStep
//     while callers are held back by pacing.
//   - The 429 that ends slow start answered a request sent T after the
//     step began, and n requests sent since were accepted. If the
//     server's tokens were full when the step began, they held its burst
//     B plus what it refilled, so it allows about (n − B + ½)/T (the ½
//     for the request that did not fit). If the step before had already
//     drained them, that estimate is low, and the same one counted from
//     the start of the step before is right; if not, the opposite. So
//     the larger of the two, within [r/4, r] for the rate r that failed,
//     less a little headroom, is where pacing settles; its upper bound,
//     when measured over long enough, caps later probes.
//   - Steady state is a binary search between the last rate that held
//     (lo) and the last that failed (hi): after a quiet spell held back
//     by pacing, the rate moves halfway to hi, by 10% at most (or up 5% once hi is
//     within 5%, since the server's limit may have risen); after a 429
//     it falls back to lo, or by a sixth when lo is unknown. A quiet
//     spell is ten times the last Retry-After, at least probeEvery, so
//     that probing never costs more than about a tenth of the time.
//
// Only one 429 per change of rate and hold counts: the others answered
// requests sent at a rate already given up, or sent before the server's
// Retry-After had passed. And a 429 counts only if it names a positive
// Retry-After, or if 429s are lately more than a quarter of all answers
// (a moving average): a rate limiter refuses much of what goes over its
// limit, while a flaky gateway's odd 429 says nothing about the rate, and
// cutting the rate for each would slow the Client to a crawl however
// rare they were. A 429 without Retry-After costs only a retry, so one
// ignored is cheap. After a counted 429 without Retry-After, the next
// slot at the new rate is quiet too, so that the server's emptied
// allowance can refill before a request is taken as news.
type adaptive struct {
	lim  *rate.Limiter
	head chan struct{} // held by the one caller that holds a reservation

	mu        sync.Mutex
	known     bool          // a 429 has been seen
	firstHit  time.Time     // when
	burst     int           // requests accepted in the second before firstHit
	okTimes   [64]time.Time // send times of the last accepted requests, a ring
	okNext    int
	slowStart bool
	rate      float64
	changed   time.Time // when rate last changed
	limited   bool      // some caller waited for pacing since changed
	stepOK    int       // accepted requests sent since stepFrom
	stepFrom  time.Time // the last send before the rate applied
	prevOK    int       // the same for the step before
	prevFrom  time.Time
	lastSend  time.Time     // when pacing last let a request through
	lastOK    bool          // and that request has been accepted
	waiting   int           // callers waiting for a slot
	changedCh chan struct{} // closed when the rate changes
	quiet     time.Time     // 429s to requests sent before this are not news
	lo, hi    float64       // steady state: last rate that held, that failed
	holdCost  time.Duration // the last Retry-After
	share429  float64       // moving average of the share of 429s in answers
}

var errPaceDeadline = errors.New("rate: wait would exceed context deadline")

const (
	// Short steps reach the limit sooner; see throttled for why a step
	// that ends before the server's burst runs out does no harm.
	slowStartStep = 150 * time.Millisecond
	// Each probe that overshoots costs a hold of the whole Client.
	probeEvery = 10 * time.Second
	// headroom keeps pacing just under the estimated limit.
	headroom = 0.97
	minRate  = 0.5 // requests per second; never stop entirely
	// A 429 without Retry-After is a pacing signal only while 429s are
	// more than minShare429 of answers, averaged with weight shareWeight.
	minShare429 = 0.25
	shareWeight = 1.0 / 64
)

func newAdaptive() *adaptive {
	return &adaptive{
		lim:       rate.NewLimiter(rate.Inf, 1),
		head:      make(chan struct{}, 1),
		changedCh: make(chan struct{}),
	}
}

// wait blocks until the pacing lets one request through. Callers queue
// for the head position and only the head holds a reservation: a slot
// reserved at an old rate would otherwise stand long after the rate had
// doubled (rate.Limiter's reservations are fixed once made). The head
// re-reserves when the rate changes.
func (a *adaptive) wait(ctx context.Context) (time.Time, error) {
	a.mu.Lock()
	if a.waiting > 0 {
		a.limited = true // callers queue: demand exceeds the rate
	}
	queued := a.waiting
	a.waiting++
	perSlot := a.slot()
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.waiting--
		a.mu.Unlock()
	}()
	// The queue ahead needs about one slot each.
	if pastDeadline(ctx, time.Duration(queued)*perSlot) {
		return time.Time{}, errPaceDeadline
	}
	select {
	case a.head <- struct{}{}:
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	defer func() { <-a.head }()
	for {
		now := time.Now()
		a.mu.Lock()
		a.grow(now)
		changed := a.changedCh
		r := a.lim.ReserveN(now, 1)
		d := r.DelayFrom(now)
		if d == 0 {
			a.sentAt(now)
			a.mu.Unlock()
			return now, nil
		}
		if pastDeadline(ctx, d) {
			r.CancelAt(now)
			a.mu.Unlock()
			return time.Time{}, errPaceDeadline
		}
		a.limited = true
		a.mu.Unlock()

		t := time.NewTimer(d)
		select {
		case <-t.C:
			now := time.Now()
			a.mu.Lock()
			a.sentAt(now)
			a.mu.Unlock()
			return now, nil
		case <-changed:
			t.Stop()
			r.Cancel()
		case <-ctx.Done():
			t.Stop()
			r.Cancel()
			return time.Time{}, ctx.Err()
		}
	}
}

// sentAt records a request let through at now.
func (a *adaptive) sentAt(now time.Time) {
	a.lastSend, a.lastOK = now, false
}

// slot is the time between two requests at the current rate.
func (a *adaptive) slot() time.Duration {
	if !a.known {
		return 0
	}
	return time.Duration(float64(time.Second) / a.rate)
}

// accepted records a response that was not a 429 to a request sent at
// sent.
func (a *adaptive) accepted(now, sent time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.share429 *= 1 - shareWeight
	if !a.known {
		a.okTimes[a.okNext%len(a.okTimes)] = sent
		a.okNext++
	} else if sent.Before(a.firstHit) {
		a.burst++ // answered after the first 429, but part of the burst
	} else {
		if !sent.Before(a.stepFrom) {
			a.stepOK++
		}
		if !sent.Before(a.prevFrom) {
			a.prevOK++
		}
	}
	if sent.Equal(a.lastSend) {
		a.lastOK = true
	}
	a.grow(now)
}

// grow raises the rate while callers are held back by it: in slow start
// doubling for every slowStartStep passed (from at least the burst the
// server showed), later by 5% every probeEvery.
func (a *adaptive) grow(now time.Time) {
	if !a.known || !a.limited || now.Before(a.quiet) {
		return
	}
	elapsed := now.Sub(a.since())
	switch {
	case a.slowStart && a.rate < float64(a.burst):
		// The first 429 came before the burst's answers were counted.
		a.set(now, float64(a.burst))
	case a.slowStart && elapsed >= slowStartStep:
		a.set(now, max(a.rate*2, float64(a.burst)))
	case !a.slowStart && elapsed >= max(probeEvery, 10*a.holdCost):
		a.lo = a.rate
		if a.hi > a.rate*1.05 {
			a.set(now, min((a.rate+a.hi)/2, a.rate*1.1))
		} else {
			a.hi = 0
			a.set(now, a.rate*1.05)
		}
	}
}

// throttled records a 429, received at now, to a request sent at sent;
// the server asked for no requests before quiet.
func (a *adaptive) throttled(now, sent, quiet time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.share429 = a.share429*(1-shareWeight) + shareWeight
	if !quiet.After(now) && a.share429 < minShare429 {
		return // a stray 429 that asks for no wait
	}
	switch {
	case !a.known:
		a.known, a.slowStart, a.firstHit = true, true, now
		for _, t := range a.okTimes {
			if !t.Before(now.Add(-time.Second)) {
				a.burst++
			}
		}
		a.set(now, max(float64(a.burst), 1))
	case sent.Before(a.changed) || sent.Before(a.quiet):
		return // not news
	case a.slowStart:
		a.slowStart = false
		r := a.rate
		est, upper := a.estimate(a.stepOK, a.stepFrom, sent)
		if m, u := a.estimate(a.prevOK, a.prevFrom, sent); m > est {
			est, upper = m, u
		}
		a.lo, a.hi = 0, r
		if upper > 0 {
			// Probes need not pass a limit already measured.
			a.hi = min(r, upper)
		}
		a.set(now, headroom*min(max(est, r/4), r))
	case a.lo > 0 && a.lo < a.rate:
		a.hi = a.rate
		a.set(now, a.lo)
		a.lo = 0
	default:
		a.hi = a.rate
		a.set(now, a.rate*5/6)
	}
	a.holdCost = quiet.Sub(now)
	a.quiet = later(quiet, now.Add(a.slot()))
}

// estimate is the server's rate if its tokens were full at from and ok
// requests sent from then until the refused one at refused got in: the
// middle of the bounds (ok − B)/T and (ok + 1 − B)/T, and the upper bound
// when T is long enough to trust it (else 0).
func (a *adaptive) estimate(ok int, from, refused time.Time) (mid, upper float64) {
	t := refused.Sub(from)
	if from.IsZero() || t < time.Millisecond {
		return 0, 0
	}
	n := float64(ok - max(a.burst, 1))
	mid = (n + 0.5) / t.Seconds()
	if t >= 20*time.Millisecond {
		upper = (n + 1) / t.Seconds()
	}
	return mid, upper
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// since is when the current rate began to apply: its change, or the end
// of a hold that followed.
func (a *adaptive) since() time.Time {
	if a.quiet.After(a.changed) {
		return a.quiet
	}
	return a.changed
}

func (a *adaptive) set(now time.Time, r float64) {
	// The server's tokens start to drain with the last request sent on
	// the old schedule (before it they were full), so a step is counted
	// from there; after a hold they are full again at its end.
	a.prevFrom, a.prevOK = a.stepFrom, a.stepOK
	a.stepFrom = a.lastSend
	if q := a.quiet; a.stepFrom.Before(q) && !q.After(now) {
		a.stepFrom = q
	}
	if a.stepFrom.IsZero() {
		a.stepFrom = now
	}
	a.stepOK = 0
	if a.stepFrom.Equal(a.lastSend) && a.lastOK {
		a.stepOK = 1 // answered before the change, and counts in this step
	}
	a.rate = max(r, minRate)
	a.changed = now
	a.limited = false
	a.lim.SetLimitAt(now, rate.Limit(a.rate))
	close(a.changedCh)
	a.changedCh = make(chan struct{})
}
