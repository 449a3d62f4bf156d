package agents

import "time"

// rateControl learns the rate a server accepts when it says nothing of
// its limit but 429s. A 429 is expensive: its Retry-After holds the whole
// Client, so the design spends as few as it can, and most of the work
// goes into making the first overshoot an accurate measurement rather
// than into the control law after it (a textbook CUBIC probing every few
// seconds was tried, and its probes' holds cost more than it gained).
//
//   - Until the first 429 it does not pace. The requests accepted in the
//     second before that 429 (B) are the opening's measurement: for the
//     window limiters most servers run (n per second, fixed or sliding)
//     B is the limit itself; for a token bucket it is about its burst.
//   - It resumes at B a second and, while callers are held back by it,
//     doubles the rate every slowStartStep. The 429 that ends this slow
//     start answered a request sent T after the step began, and n
//     requests sent since were accepted: if the server's tokens were
//     full when the step began it allows about (n − B + ½)/T. The same
//     is computed from the step before, and B a second is a floor when
//     the opening looked like a window (B a second at least what the
//     steps measured): the largest, within [r/4, r] for the rate r that
//     failed, less a little headroom, is where pacing settles.
//   - Steady state is a binary search between the last rate that held
//     (lo) and the last that failed (hi): after a quiet spell held back
//     by pacing, the rate moves halfway to hi, by 10% at most; after a
//     429 it falls back to lo, or by a sixth when lo is unknown. A quiet
//     spell is ten times the last Retry-After, at least probeEvery; once
//     lo and hi are within 5% (converged) it is probeConverged, because
//     the remaining gain is smaller than the hold a failed probe costs.
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
	stepFrom  time.Time // the last send before the rate applied
	prevOK    int       // the same for the step before
	prevFrom  time.Time
	lastSend  time.Time // when pacing last let a request through
	lastOK    bool      // and that request has been accepted
	quiet     time.Time // 429s to requests sent before this are not news
	lo, hi    float64   // steady state: last rate that held, that failed
	confirmed bool      // hi failed twice: not one unlucky 429
	holdCost  time.Duration

	// The first 429 is looked at again once an accepted answer says how
	// long the server takes (see controller.accepted).
	pendingFirst  bool
	firstInflight int
	firstLat      time.Duration
}

const (
	// Short steps reach the limit sooner; see throttled for why a step
	// that ends before the server's burst runs out does no harm.
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
	// Each probe that overshoots costs a hold of the whole Client.
	probeEvery       = 10 * time.Second
	probeConverged   = 30 * time.Second
	probeUnconfirmed = 2 * time.Second
	// headroom keeps pacing just under the estimated limit.
	headroom = 0.97
	minRate  = 0.5 // requests per second; never stop entirely
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
	*rc = rateControl{holdCost: rc.holdCost, quiet: rc.quiet, lastSend: rc.lastSend}
}

func (rc *rateControl) sentAt(now time.Time) {
	rc.lastSend, rc.lastOK = now, false
}

// accepted records a response that was not a 429 to a request sent at
// sent.
func (rc *rateControl) accepted(now, sent time.Time) {
	rc.okTimes[rc.okNext%len(rc.okTimes)] = sent
	rc.okNext++
	switch {
	case !rc.known:
	case sent.Before(rc.firstHit):
		rc.burst++ // answered after the first 429, but part of the burst
	default:
		if !sent.Before(rc.stepFrom) {
			rc.stepOK++
		}
		if !sent.Before(rc.prevFrom) {
			rc.prevOK++
		}
	}
	if sent.Equal(rc.lastSend) {
		rc.lastOK = true
	}
	rc.grow(now)
}

// grow raises the rate while callers are held back by it: in slow start
// doubling for every slowStartStep passed (from at least the burst the
// server showed), later by the binary search's probes.
func (rc *rateControl) grow(now time.Time) {
	if !rc.known || !rc.limited || now.Before(rc.quiet) {
		return
	}
	elapsed := now.Sub(rc.since())
	quiet := rc.probeQuiet()
	switch {
	case rc.slowStart && rc.rate < float64(rc.burst):
		// The first 429 came before the burst's answers were counted.
		rc.set(now, float64(rc.burst))
	case rc.slowStart && elapsed >= slowStartStep:
		rc.set(now, max(rc.rate*2, float64(rc.burst)))
	case !rc.slowStart && elapsed >= quiet:
		rc.lo = rc.rate
		switch {
		case rc.hi > rc.rate*1.05:
			rc.set(now, min((rc.rate+rc.hi)/2, rc.rate*1.1))
		case !rc.confirmed:
			// One 429 is weak evidence: the requests a pacer spaces
			// evenly reach the server jittered, and a bucket with
			// little burst refuses the closest pair. Try past it.
			step := 1.1
			if rc.window {
				// The opening measured the allowance a second: the
				// limit is near, and each overshoot costs a hold.
				step = 1.04
			}
			rc.hi = 0
			rc.set(now, rc.rate*step)
		default:
			// The server's limit may have risen since hi was measured.
			rc.hi, rc.confirmed = 0, false
			rc.set(now, rc.rate*1.05)
		}
	}
}

// probeQuiet is how long the rate must hold before a probe above it.
func (rc *rateControl) probeQuiet() time.Duration {
	if !rc.confirmed {
		if rc.window {
			return max(probeEvery/2, 3*rc.holdCost)
		}
		return max(probeUnconfirmed, 3*rc.holdCost)
	}
	quiet := max(probeEvery, 10*rc.holdCost)
	if converged := rc.hi > 0 && rc.hi <= rc.rate*1.05; converged {
		quiet = max(probeConverged, quiet)
	}
	return quiet
}

// growthAt is when grow may next change the rate; zero when it cannot.
func (rc *rateControl) growthAt() time.Time {
	switch {
	case !rc.known:
		return time.Time{}
	case rc.slowStart:
		return rc.since().Add(slowStartStep)
	}
	return rc.since().Add(rc.probeQuiet())
}

// throttled records a counted 429, received at now, to a request sent at
// sent; the server asked for no requests before quiet.
func (rc *rateControl) throttled(now, sent, quiet time.Time, lat time.Duration, inflight int) {
	switch {
	case !rc.known:
		rc.known, rc.slowStart, rc.firstHit = true, true, now
		rc.pendingFirst, rc.firstInflight, rc.firstLat = true, max(inflight, 1), lat
		if inflight < 1 {
			rc.firstInflight = 0
		}
		rc.burst = rc.acceptedSince(sent.Add(-time.Second))
		if rc.burst >= windowOpening && rc.burst < len(rc.okTimes) {
			// A second's worth of requests got through before the first
			// refusal: the opening measured a window's (or a bucket's)
			// allowance a second. Doubling past it would only spend a
			// fresh window's allowance fast and overshoot; probe up
			// from it instead.
			rc.slowStart, rc.window = false, true
		}
		rc.set(now, max(headroomIf(rc.window)*float64(rc.burst), slowStartFloor))
	case sent.Before(rc.changed) || sent.Before(rc.quiet):
		return // not news
	case rc.slowStart:
		rc.slowStart = false
		r := rc.rate
		// Only the step that failed sent faster than the server allows,
		// so only its drain says what the server allows; the step
		// before held, at half the rate.
		est, upper := rc.estimate(rc.stepOK, rc.stepFrom, sent)
		// What the server let through in the last second of overload is
		// a floor for it (two windows' worth, at most, for a window
		// limiter, which the probes then correct).
		est = max(est, float64(rc.acceptedSince(sent.Add(-time.Second))))
		good := r / 2
		if rc.prevFrom.IsZero() {
			good = r / 4 // failed at the first step: little is known
		}
		rc.lo, rc.hi = 0, r
		if upper > 0 {
			// Probes need not pass a limit already measured.
			rc.hi = min(r, upper)
		}
		if upper == 0 {
			// The failing step was too short to measure (a bucket with
			// no burst refuses at once): start between what held and
			// what failed, and let the probes find the rest.
			est = good * 1.25
		}
		if b := float64(rc.burst); b >= est && b < r {
			// The steps measured no more than the opening's window did:
			// a window limiter, whose limit the opening measured.
			rc.window, est, rc.hi = true, b, b
		}
		rc.set(now, headroom*min(max(est, good), r))
	default:
		// A second failure near the same rate confirms it.
		rc.confirmed = rc.hi > 0 && rc.rate >= rc.hi*0.9 && rc.rate <= rc.hi*1.1
		cut := 0.85
		if now.Sub(rc.since()) < 3*time.Second {
			// Refused again soon after a cut: the limit fell, or
			// lies well below; close in faster.
			cut = 0.75
		}
		rc.hi = rc.rate
		r := rc.rate * cut
		if rc.lo > 0 && rc.lo < rc.rate {
			r = max(min(rc.lo, r/cut*0.95), r)
		}
		rc.set(now, r)
		rc.lo = 0
	}
	rc.holdCost = max(quiet.Sub(now), 0) // zero without Retry-After
	rc.quiet = later(quiet, now.Add(rc.slot()))
}

// acceptedSince counts accepted requests sent at or after t (as far as
// the ring of recent ones goes back).
func (rc *rateControl) acceptedSince(t time.Time) int {
	n := 0
	for _, s := range rc.okTimes {
		if !s.IsZero() && !s.Before(t) {
			n++
		}
	}
	return n
}

func headroomIf(b bool) float64 {
	if b {
		return headroom
	}
	return 1
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
// middle of the bounds (ok − B)/T and (ok + 1 − B)/T, and the upper bound
// when T is long enough to trust it (else 0).
func (rc *rateControl) estimate(ok int, from, refused time.Time) (mid, upper float64) {
	t := refused.Sub(from)
	if from.IsZero() || t < time.Millisecond {
		return 0, 0
	}
	if ok < minDrain {
		// A handful of requests is a coin toss, not a measurement: a
		// bucket with no burst refuses the first pair sent closer than
		// its interval, however long the step ran.
		return 0, 0
	}
	n := float64(ok - max(rc.burst, 1))
	mid = (n + 0.5) / t.Seconds()
	if t >= 20*time.Millisecond {
		upper = (n + 1) / t.Seconds()
	}
	return mid, upper
}

// since is when the current rate began to apply: its change, or the end
// of a hold that followed.
func (rc *rateControl) since() time.Time {
	return later(rc.quiet, rc.changed)
}

func (rc *rateControl) set(now time.Time, r float64) {
	// The server's tokens start to drain with the last request sent on
	// the old schedule (before it they were full), so a step is counted
	// from there; after a hold they are full again at its end.
	rc.prevFrom, rc.prevOK = rc.stepFrom, rc.stepOK
	rc.stepFrom = rc.lastSend
	if q := rc.quiet; rc.stepFrom.Before(q) && !q.After(now) {
		rc.stepFrom = q
	}
	if rc.stepFrom.IsZero() {
		rc.stepFrom = now
	}
	rc.stepOK = 0
	if rc.stepFrom.Equal(rc.lastSend) && rc.lastOK {
		rc.stepOK = 1 // answered before the change, and counts in this step
	}
	rc.rate = max(r, minRate)
	rc.changed = now
	rc.limited = false
}
