package agents

import "time"

// controller decides how fast, and how many at once, a Client may send,
// from what the server's answers say. It is a pure function of events and
// the times they happen at: no goroutines, no clock, no locks of its own
// (the pacer holds its lock around every call), so that tests replay
// recorded traces in virtual time and the scenario lab runs the very same
// code at wall-clock speed.
//
// It keeps three kinds of knowledge apart, because each shape of limiter
// answers a different one and confusing them is what makes pacers slow:
//
//   - quota: what rate-limit headers say (X-RateLimit-*, IETF RateLimit).
//     When a server sends them, they win: see quota.go.
//   - rate: without headers, the rate the server accepts, learnt from
//     429s; see the rate* methods below.
//   - concurrency: a server that caps requests in flight, not requests a
//     second, refuses fast while its slots are busy with slow work.
//     Little's law tells it apart: accepted requests that take much longer
//     than the 429s, which arrived while others of ours were in flight.
//     A 429 of that kind lowers the number in flight and never the rate.
type controller struct {
	rate  rateControl
	conc  concControl
	quota quotaControl

	latOK    time.Duration // moving average of accepted latencies
	share429 float64       // moving average of the share of 429s in answers

	// When the opening's first answers were 429s: the first accepted
	// answer's arrival, and how many accepted requests were sent before
	// it. Until then no slot had been freed, so each of them held one of
	// the server's slots at once: when the server caps requests in
	// flight, their number is the cap, whatever order the burst reached
	// it in. (Comparing send times with the 429s' was tried: a burst's
	// requests wait for their connections to be dialled, so send order
	// says little of arrival order, and the count came out one short.)
	open struct {
		firstOK time.Time
		n       int
	}
}

// answer is one response as the controller hears of it.
type answer struct {
	seq        uint64    // order in which the request was let through
	sent, recv time.Time // when the request left and its answer came
	inflight   int       // other requests of this Client in flight when it left
	status     int
	retryAfter time.Duration // from the 429, when it named one
	quota      quota
	hasQuota   bool
}

func (a answer) latency() time.Duration { return a.recv.Sub(a.sent) }

const (
	// shareWeight averages the share of 429s over about 64 answers. A
	// 429 without Retry-After counts as a pacing signal only while 429s
	// are more than minShare429 of the answers: a limiter refuses much
	// of what goes over its limit, a flaky gateway's odd 429 says nothing
	// about the rate, and cutting for each would slow the Client to a
	// crawl however rare they were.
	shareWeight = 1.0 / 64
	minShare429 = 0.25
	// A 429 is a concurrency signal when accepted requests take at least
	// concLatencyRatio times as long as it did, and at least
	// concMinLatency: then it was refused fast because the server was
	// busy with our slow requests, not because we sent too many a
	// second.
	concLatencyRatio = 4
	concMinLatency   = 2 * time.Millisecond
	// concSettled is how far apart two refusals at the cap's level must
	// be for the second to be taken for a race too, not for the cap.
	concSettled = 5 * time.Second
)

func newController() *controller {
	return &controller{quota: quotaControl{share: 1}}
}

// sent records a request let through at now.
func (c *controller) sent(now time.Time, seq uint64) {
	c.rate.sentAt(now)
	c.quota.sentAt(now, seq)
}

// answered records an answer; quiet is the end of the hold it set, if
// any.
func (c *controller) answered(a answer, quiet time.Time) {
	if a.hasQuota {
		c.quota.observe(a)
	}
	if a.status == 429 {
		c.share429 = c.share429*(1-shareWeight) + shareWeight
		c.throttled(a, quiet)
	} else {
		c.share429 *= 1 - shareWeight
		if a.status < 500 {
			c.accepted(a)
		}
	}
}

func (c *controller) accepted(a answer) {
	if l := a.latency(); c.latOK == 0 {
		c.latOK = l
	} else {
		c.latOK += (l - c.latOK) / 8
	}
	// The first 429 may have come before any accepted answer could say
	// how long the server takes; once one does, look at it again.
	counted := c.countOpening(a)
	if c.rate.pendingFirst {
		c.rate.pendingFirst = false
		if c.concLike(c.rate.firstLat, c.rate.firstInflight) {
			// Arrival order in a burst says little: the cap is a first
			// guess, raised as more of the burst's accepted answers come.
			c.rate.forget()
			c.conc.refused(a.recv, max(counted, 1), false)
			c.conc.counted = true
		}
	} else if c.conc.counted && counted > c.conc.cap {
		c.conc.cap = counted
	}
	c.rate.accepted(a.recv, a.sent)
}

// countOpening counts an accepted answer to a request of the opening
// (see controller.open) and returns the count so far.
func (c *controller) countOpening(a answer) int {
	o := &c.open
	if c.rate.pendingFirst && o.firstOK.IsZero() {
		o.firstOK = a.recv
	}
	if !o.firstOK.IsZero() && !a.sent.After(o.firstOK) {
		o.n++
	}
	return o.n
}

// concLike reports whether a 429 that took lat and left with inflight
// others in flight was refused for concurrency.
func (c *controller) concLike(lat time.Duration, inflight int) bool {
	return inflight >= 1 && c.latOK >= concMinLatency && c.latOK >= concLatencyRatio*max(lat, time.Microsecond)
}

func (c *controller) throttled(a answer, quiet time.Time) {
	if !quiet.After(a.recv) && c.share429 < minShare429 {
		return // a stray 429 that asks for no wait
	}
	if c.quota.active(a.recv) {
		return // the quota's own rules have heard of it
	}
	if c.concLike(a.latency(), a.inflight) {
		c.conc.refused(a.recv, a.inflight, !a.sent.Before(c.conc.changed))
		return
	}
	if c.rate.pendingFirst && c.latOK == 0 {
		// Until an accepted answer says how long the server takes, the
		// opening's 429s are kept in view: the most in flight beside one
		// of them, and the quickest. A burst's requests wait for their
		// dials, so the first sent (with none beside it) may arrive after
		// others and be refused; and on a busy machine the answers queue
		// for the CPU, so the slowest 429 of sixteen can take as long as a
		// slow server's accepted answer.
		c.rate.firstInflight = max(c.rate.firstInflight, a.inflight)
		c.rate.firstLat = min(c.rate.firstLat, a.latency())
	}
	c.rate.throttled(a.recv, a.sent, quiet, a.latency(), a.inflight)
}

// pace is what the pacer enforces now: at most r requests a second
// (0: no limit), at most n in flight (0: no cap), and nothing before
// notBefore.
type pace struct {
	r         float64
	burst     int // requests that may go at once after a late wake-up
	n         int
	notBefore time.Time
}

func (c *controller) pace(now time.Time) pace {
	if c.quota.active(now) {
		// A head that wakes late would lose its slot for good with a
		// burst of one, and timers on a busy machine are late by
		// milliseconds: at 50/s that is several percent. The quota's
		// guard keeps a pair from overdrawing the window.
		return pace{r: c.quota.rate(now), burst: 2, n: c.conc.cap, notBefore: c.quota.blockedUntil(now)}
	}
	// Without headers, no burst: a bucket with none refuses a pair.
	return pace{r: c.rate.current(), burst: 1, n: c.conc.cap}
}

// demand tells the controller that callers are queued behind its pacing:
// the only condition under which raising the rate can be tested.
func (c *controller) demand(now time.Time, concBound bool) {
	if concBound {
		c.conc.grow(now)
		return
	}
	if !c.quota.active(now) {
		c.rate.limited = true
		c.rate.grow(now)
	}
}

// growthAt is when demand may next raise the pace: a head waiting for a
// slot must look again then, not only when its slot comes.
func (c *controller) growthAt(now time.Time) time.Time {
	if c.quota.active(now) {
		return time.Time{}
	}
	if c.conc.cap > 0 {
		return c.conc.changed.Add(c.conc.quiet())
	}
	return c.rate.growthAt()
}

// concControl learns a cap on requests in flight. It starts with none.
// A concurrency 429 that left with k others in flight sets the cap to k.
// The opening's first such 429 sets it to the number of accepted
// requests that were in the server's slots beside it (counted from the
// answers that overlapped it in time, whatever order the burst arrived
// in). While callers queue behind the cap and no 429 comes, it is raised
// by one: after a second while below the level that last failed, and
// only after probeConverged once there or when the opening counted it,
// since each probe that fails holds the whole Client.
type concControl struct {
	cap      int
	failedAt int // in-flight count that last drew a 429 under the cap; 0 unknown
	changed  time.Time
	raced    time.Time // a lone 429 at the cap's level, taken for a race
	probed   bool      // the cap was last raised by a probe
	// counted says the cap is the opening's count of accepted requests
	// in the server's slots beside its refusal: a measurement of the
	// server's slots, not a guess to probe past soon.
	counted bool
}

// refused records a concurrency 429 that left with inflight others in
// flight; news says it was sent under the current cap.
func (cc *concControl) refused(now time.Time, inflight int, news bool) {
	k := max(inflight, 1)
	if cc.cap != 0 && k >= cc.cap {
		return // sent before the cap was lowered
	}
	if news && k+1 == cc.cap && now.Sub(cc.raced) >= concSettled && (!cc.probed || now.Sub(cc.changed) >= concSettled) {
		// Refused once at the cap's own level: most likely the server
		// freed its slot a moment after its answer left (a middleware's
		// deferred release) and ours came in between. Lowering for that
		// would cost a quarter of a cap of four; a second refusal soon
		// after does lower it.
		cc.raced = now
		return
	}
	cc.cap, cc.changed, cc.probed, cc.counted = k, now, false, false
	if news {
		cc.failedAt = k + 1
	}
}

func (cc *concControl) quiet() time.Duration {
	if cc.counted || cc.failedAt != 0 && cc.cap+1 >= cc.failedAt {
		// A probe past a cap that held or was counted is all but sure to
		// fail, and its hold stops every request of the Client.
		return probeConverged
	}
	return time.Second
}

func (cc *concControl) grow(now time.Time) {
	if cc.cap == 0 {
		return
	}
	if now.Sub(cc.changed) >= cc.quiet() {
		cc.cap++
		cc.changed, cc.probed, cc.counted = now, true, false
	}
}

// later returns the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
