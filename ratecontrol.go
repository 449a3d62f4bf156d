package agents

import "time"

// rateControl learns the rate a server accepts when it says nothing of
// its limit but 429s. A 429 is expensive: its Retry-After holds the whole
// Client, so the design spends as few as it can, and most of the work
// goes into making each overshoot an accurate measurement rather than
// into the control law after it (a textbook CUBIC probing every few
// seconds was tried, and its probes' holds cost more than it gained).
//
//   - Until the first 429 it does not pace. The requests accepted in the
//     second before that 429 (B) are the opening's measurement: for the
//     window limiters most servers run (n per second, fixed or sliding)
//     B is the limit itself, and pacing settles just under it; for a
//     token bucket B is about its burst.
//   - Otherwise it resumes at B a second and, while callers are held
//     back by it, doubles the rate every slowStartStep. The 429 that ends
//     slow start is measured like every later one (below).
//   - A 429 measures the server when the server's allowance was full as
//     the failing rate began (it began after a hold, or after a lower
//     rate that held): n requests accepted in the T since then mean the
//     server allows about (n − B)/T a second, a token bucket's rate and a
//     window's alike. Pacing goes just under that estimate.
//   - When a 429 measures nothing (a bucket with no burst refuses the
//     first pair sent too close), the rate is bracketed: lo held, hi
//     failed. Each probe between them is chosen to be worth its risk:
//     a failed probe costs the hold (H) of the whole Client, a good one
//     gains its step for the next probeEvery (Q), so the next rate is
//     halfway from lo to Q/(Q+H) of hi, which is plain bisection when
//     429s ask for no wait. Once that step is under 2% the rate has
//     converged, and it only probes again after probeConverged.
//
// Only one 429 per change of rate and hold counts: the others answered
// requests sent at a rate already given up, or before the server's
// Retry-After had passed. After a counted 429 without Retry-After, the
// next slot at the new rate is quiet too, so that the server's emptied
// allowance can refill before a request is taken as news.
type rateControl struct {
	known     bool           // a counted 429 has been seen
	firstHit  time.Time      // when
	burst     int            // requests accepted in the second before firstHit
	okTimes   [512]time.Time // send times of the last accepted requests, a ring
	okNext    int
	slowStart bool
	window    bool // the opening looked like a window limiter's: B a second is the limit
	rate      float64
	changed   time.Time // when rate last changed
	limited   bool      // some caller waited for pacing since changed
	stepOK    int       // accepted requests sent since stepFrom
	stepFrom  time.Time // the first send at the current rate; zero until then
	prevOK    int       // the same for the step before
	prevFrom  time.Time
	prevRate  float64
	full      bool      // the server's allowance was full at stepFrom
	quiet     time.Time // 429s to requests sent before this are not news
	lo, hi    float64   // last rate that held, lowest that failed; 0 unknown
	holdCost  time.Duration

	// The first 429 is looked at again once an accepted answer says how
	// long the server takes (see controller.accepted).
	pendingFirst  bool
	firstInflight int
	firstLat      time.Duration
}

const (
	// Short steps reach the limit sooner; a step that ends before the
	// server's burst runs out does no harm, since the 429 that ends slow
	// start is measured from the earliest step that was already too fast.
	slowStartStep = 150 * time.Millisecond
	// Slow start begins no lower than this many requests a second: a
	// bucket with no burst refuses the opening's second request, and
	// doubling from one a second would take a second to reach 8.
	slowStartFloor = 8
	// minDrain is the fewest accepted requests a drain estimate is
	// made from.
	minDrain = 5
	// windowOpening is the fewest requests accepted in the opening's
	// last second for the opening to count as a measurement of the
	// server's allowance a second.
	windowOpening = 16
	// probeEvery is the horizon a probe's gain is weighed over against
	// the hold a failed probe costs; probeConverged is how long a
	// converged rate holds before the next probe, since the server's
	// limit may rise; probeQuiet is the shortest spell a rate must hold
	// before it counts as one that held.
	probeEvery     = 10 * time.Second
	probeConverged = 30 * time.Second
	probeQuiet     = 2 * time.Second
	// minEstimate is the smallest part of the failing rate a drain
	// estimate is believed at: a limit that halves under a running
	// Client measures about 0.5.
	minEstimate = 0.4
	// minProbe is the smallest step worth a probe's risk.
	minProbe = 1.02
	// headroom keeps pacing just under an estimated limit; windowHeadroom
	// under one the opening measured exactly, as a window's count.
	headroom       = 0.97
	windowHeadroom = 0.98
	minRate        = 0.5 // requests per second; never stop entirely
)

// current is the rate to pace at; 0 while none is known.
func (rc *rateControl) current() float64 {
	if !rc.known {
		return 0
	}
	return rc.rate
}

// forget returns to not pacing: the first 429 turned out to be about
// concurrency, not rate.
func (rc *rateControl) forget() {
	// Field by field, not a composite literal: that would build the whole
	// struct, okTimes included, in the frame of every caller it is
	// inlined into, and a 12 KB frame on the path of every answer makes
	// each goroutine regrow its stack after every GC.
	holdCost, quiet := rc.holdCost, rc.quiet
	*rc = rateControl{}
	rc.holdCost, rc.quiet = holdCost, quiet
}

func (rc *rateControl) sentAt(now time.Time) {
	// A request let through before the change (and only heard of now)
	// is not the step's first.
	if rc.known && rc.stepFrom.IsZero() && !now.Before(rc.since()) {
		rc.stepFrom = now
	}
}

// accepted records a response that was not a 429 to a request sent at
// sent.
func (rc *rateControl) accepted(now, sent time.Time) {
	rc.okTimes[rc.okNext%len(rc.okTimes)] = sent
	rc.okNext++
	switch {
	case !rc.known:
	case sent.Before(rc.firstHit):
		// Answered after the first 429, but part of the opening: with
		// many callers, much of it is still in flight when that 429
		// comes back.
		rc.burst++
		if rc.window && rc.rate < windowHeadroom*float64(rc.burst) && rc.lo == 0 {
			rc.rate, rc.hi = windowHeadroom*float64(rc.burst), float64(rc.burst)
		}
	default:
		if !rc.stepFrom.IsZero() && !sent.Before(rc.stepFrom) {
			rc.stepOK++
		}
		if !sent.Before(rc.prevFrom) {
			rc.prevOK++
		}
	}
	rc.grow(now)
}

// grow raises the rate while callers are held back by it: in slow start
// doubling for every slowStartStep passed (from at least the burst the
// server showed), later by probes.
func (rc *rateControl) grow(now time.Time) {
	if !rc.known || !rc.limited || now.Before(rc.quiet) {
		return
	}
	elapsed := now.Sub(rc.since())
	switch {
	case rc.slowStart && rc.rate < float64(rc.burst):
		// The first 429 came before the burst's answers were counted.
		rc.set(now, float64(rc.burst))
	case rc.slowStart && elapsed >= slowStartStep:
		rc.set(now, max(rc.rate*2, float64(rc.burst)))
	case rc.slowStart:
	case elapsed >= rc.holdFor():
		rc.lo = rc.rate
		x := rc.probe(rc.rate)
		if x < rc.rate*minProbe {
			// Converged, and held for long: the server's limit may have
			// risen since hi failed.
			rc.hi, x = 0, rc.rate*1.05
		}
		rc.set(now, x)
	}
}

// probe is the rate to try next above r, a rate that held: halfway from
// it to the part of hi that is worth a hold's risk (see the type's doc),
// or 10% up while nothing above has failed.
func (rc *rateControl) probe(r float64) float64 {
	if rc.hi <= r {
		return r * 1.1
	}
	q, h := probeEvery.Seconds(), rc.holdCost.Seconds()
	return min((r+rc.hi*q/(q+h))/2, r*1.5)
}

// holdFor is how long the rate must hold before grow moves it.
func (rc *rateControl) holdFor() time.Duration {
	if rc.hi > rc.rate && rc.probe(rc.rate) < rc.rate*minProbe {
		return max(probeConverged, 10*rc.holdCost)
	}
	return max(probeQuiet, 3*rc.holdCost)
}

// growthAt is when grow may next change the rate; zero when it cannot.
func (rc *rateControl) growthAt() time.Time {
	switch {
	case !rc.known:
		return time.Time{}
	case rc.slowStart:
		return rc.since().Add(slowStartStep)
	}
	return rc.since().Add(rc.holdFor())
}

// throttled records a counted 429, received at now, to a request sent at
// sent; the server asked for no requests before quiet.
func (rc *rateControl) throttled(now, sent, quiet time.Time, lat time.Duration, inflight int) {
	switch {
	case !rc.known:
		rc.known, rc.slowStart, rc.firstHit = true, true, now
		rc.pendingFirst, rc.firstInflight, rc.firstLat = true, inflight, lat
		rc.burst = rc.acceptedSince(sent.Add(-time.Second))
		if rc.burst >= windowOpening && rc.burst < len(rc.okTimes) {
			// A second's worth of requests got through before the first
			// refusal: the opening measured a window's allowance a
			// second, which is the limit. Doubling past it would only
			// spend a fresh window's allowance fast and overshoot.
			rc.slowStart, rc.window = false, true
			rc.hi = float64(rc.burst)
		}
		first := float64(rc.burst) // slow start begins at the burst the server showed
		if rc.window {
			first *= windowHeadroom
		}
		rc.set(now, max(first, slowStartFloor))
	case sent.Before(rc.changed) || sent.Before(rc.quiet):
		return // not news
	default:
		rc.overshot(now, sent)
	}
	rc.holdCost = max(quiet.Sub(now), 0) // zero without Retry-After
	rc.quiet = later(quiet, now.Add(rc.slot()))
	// The server's allowance refills while it asks for quiet: the next
	// rate's drain is counted from the hold's end. Without a hold,
	// nothing says when it is full again.
	rc.full = quiet.After(now)
	if rc.full {
		rc.stepFrom, rc.stepOK = time.Time{}, 0
	}
}

// overshot lowers the rate after a counted 429 to a request sent at sent
// (see the type's doc).
func (rc *rateControl) overshot(now, sent time.Time) {
	r := rc.rate
	if rc.lo >= r*0.999 {
		rc.lo = 0 // what held fails now: the limit fell
	}
	var est float64
	switch {
	case rc.window:
		// A window's count is what it let through in the last second.
		est = float64(rc.acceptedSince(sent.Add(-time.Second))) * windowHeadroom / headroom
	case rc.full && rc.burst >= minDrain:
		// Without a burst to drain, a step fails on the first pair the
		// network brings too close, and its drain is its own rate.
		est = rc.estimate(rc.stepOK, rc.stepFrom, sent)
	}
	// In slow start the step that failed may lie far past the limit (a
	// burst hides the one before it): the last rate that held is the
	// yardstick for an estimate there.
	yard := r
	if rc.slowStart {
		rc.slowStart = false
		yard = rc.prevRate
		// A bucket's burst hides a step that is already too fast, and
		// then this step began with the allowance part spent, which
		// makes its own drain too low: the step before measures too, if
		// it was faster than what it measured. Both err low, so the
		// larger wins. Without a burst of minDrain or more the step
		// before cannot have hidden an overshoot, and its drain would
		// only be its own rate less the burst.
		if e := rc.estimate(rc.prevOK, rc.prevFrom, sent); e < rc.prevRate && rc.burst >= minDrain {
			est = max(est, e)
		}
		if b := float64(rc.burst); b >= est && b >= windowOpening && b < r {
			// The steps measured no more than the opening did: a window
			// limiter, whose limit the opening measured.
			rc.window, est = true, b*windowHeadroom/headroom
		}
		if est == 0 {
			rc.lo = rc.prevRate // the step before held
		}
	}
	rc.hi = r
	if est < yard*minEstimate {
		// The server let through far less than the drain model says:
		// others on the same key were draining it too (a fleet), or it
		// is no bucket. Such an estimate is a share, not the limit.
		est = 0
	}
	var next float64
	switch {
	case est > 0:
		next = min(headroom*est, r*headroom)
		rc.hi = min(r, est*1.1)
		rc.lo = min(rc.lo, next)
	case rc.lo > 0:
		// Back to what held, or a probe from it when one is worth its
		// risk below the rate that just failed.
		if next = rc.probe(rc.lo); next < rc.lo*minProbe {
			next = rc.lo
		}
	default:
		cut := 0.85
		if now.Sub(rc.since()) < 3*time.Second {
			// Refused again soon after a cut: the limit fell, or lies
			// well below; close in faster.
			cut = 0.75
		}
		next = r * cut
	}
	rc.set(now, max(next, r/4))
}

// acceptedSince counts accepted requests sent at or after t (as far as
// the ring of recent ones goes back).
func (rc *rateControl) acceptedSince(t time.Time) int {
	n := 0
	for _, s := range &rc.okTimes { // by pointer: no copy of the array
		if !s.IsZero() && !s.Before(t) {
			n++
		}
	}
	return n
}

// slot is the time between two requests at the current rate.
func (rc *rateControl) slot() time.Duration {
	if !rc.known {
		return 0
	}
	return time.Duration(float64(time.Second) / rc.rate)
}

// estimate is the server's rate if its tokens were full at from and ok
// requests sent from then until the refused one at refused got in: the
// middle of the bounds (ok − B)/T and (ok + 1 − B)/T; 0 when too little
// was seen to say.
func (rc *rateControl) estimate(ok int, from, refused time.Time) float64 {
	t := refused.Sub(from)
	if from.IsZero() || t < time.Millisecond || ok < minDrain {
		// A handful of requests is a coin toss, not a measurement: a
		// bucket with no burst refuses the first pair sent closer than
		// its interval, however long the step ran.
		return 0
	}
	n := float64(ok - max(rc.burst, 1))
	return (n + 0.5) / t.Seconds()
}

// since is when the current rate began to apply: its change, or the end
// of a hold that followed.
func (rc *rateControl) since() time.Time {
	return later(rc.quiet, rc.changed)
}

func (rc *rateControl) set(now time.Time, r float64) {
	// A step is counted from its first request: the server's allowance
	// was full before it when the rate before held (or a hold ended),
	// and drains from there when the new rate is too fast.
	rc.prevFrom, rc.prevOK, rc.prevRate = rc.stepFrom, rc.stepOK, rc.rate
	rc.stepFrom, rc.stepOK, rc.full = time.Time{}, 0, true
	rc.rate = max(r, minRate)
	rc.changed = now
	rc.limited = false
}
