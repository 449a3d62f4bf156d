package agents

import (
	"math"
	"time"
)

// quotaControl paces by what the server's rate-limit headers say. They
// are hints, not orders: the server's clock may be skewed, its resets are
// often rounded down to whole seconds, answers arrive out of order, and
// other processes may be spending the same key's quota.
//
//   - The steady rate is the limit over the window, less a little
//     headroom: that fits fixed windows, sliding windows (whose Remaining
//     hovers near zero and never jumps back) and token buckets alike.
//     A long window (longWindow or more: an hourly or daily quota) is not
//     paced at all, only guarded: its quota is the program's to spend as
//     its work comes, and pacing a daily 10,000 evenly would make every
//     burst of calls crawl at one request every 8.6 s.
//   - Remaining is a guard. Only an answer to a request sent later than
//     the one that last set it updates it, and requests sent since are
//     counted against it. When nothing remains, a fixed window's Client
//     sends nothing until the reset; a sliding window's waits one slot.
//   - Fleets: when the window runs dry though this Client sent well under
//     the limit in it, others share the key, and this Client's share is
//     cut multiplicatively (at most once a window); while it does not run
//     dry, the share grows back additively. Every Client of a fleet sees
//     the same Remaining, so they cut together and converge on fair
//     shares, as TCP flows do.
type quotaControl struct {
	on       bool
	lastSeen time.Time

	limit     int
	window    time.Duration
	policy    bool // the window came from RateLimit-Policy, not a guess
	remaining int
	remSeq    uint64    // the request whose answer set remaining
	remSent   time.Time // and when it was sent
	resetAt   time.Time // when the current window resets, as best known
	lastReset int64     // last absolute reset sent, to see windows change
	fixed     bool      // Remaining has been seen to jump back: a fixed window

	seq      uint64 // requests let through
	sends    [1024]time.Time
	block    time.Time // nothing before this: the window is spent
	blockKey [2]uint64 // the (remSeq, seq) block was computed for

	share   float64
	cutAt   time.Time
	growAt  time.Time
	dryOnce bool // the current window has run dry already
}

const (
	quotaHeadroom = 0.98
	quotaCut      = 0.6  // share kept when the fleet overdraws
	quotaGrow     = 0.05 // share regained each window without
	// longWindow is the shortest window whose remaining quota is spread
	// over its rest; see quotaControl.
	longWindow = 10 * time.Second
	// A quota not confirmed by an answer for this many windows (and at
	// least quotaForget) is forgotten: the server stopped sending it.
	quotaForget = 30 * time.Second
)

func (qc *quotaControl) active(now time.Time) bool {
	return qc.on && now.Sub(qc.lastSeen) < max(quotaForget, 10*qc.window)
}

func (qc *quotaControl) sentAt(now time.Time, seq uint64) {
	qc.seq = max(qc.seq, seq)
	qc.sends[seq%uint64(len(qc.sends))] = now
}

// ownSince counts this Client's requests let through since t.
func (qc *quotaControl) ownSince(t time.Time) int {
	n := 0
	for _, s := range &qc.sends { // by pointer: no copy of the array
		if !s.IsZero() && !s.Before(t) {
			n++
		}
	}
	return n
}

func (qc *quotaControl) observe(a answer) {
	q := a.quota
	qc.on, qc.lastSeen = true, a.recv
	if qc.share == 0 {
		qc.share = 1
	}
	if q.limit > 0 {
		qc.limit = q.limit
	}
	switch {
	case q.window > 0:
		qc.window, qc.policy = q.window, true
	case qc.policy:
	case q.coarse && qc.lastReset != 0 && q.resetAt > qc.lastReset && q.resetAt-qc.lastReset <= 3600:
		// A window's length is how far its reset moves when it resets.
		qc.window = time.Duration(q.resetAt-qc.lastReset) * time.Second
	case q.resetSet:
		// Until then, the reset is at most a window away.
		w := time.Duration(math.Ceil(q.reset.Seconds())) * time.Second
		qc.window = max(qc.window, w, time.Second)
	}
	if qc.window == 0 {
		qc.window = time.Second
	}
	newWindow := q.coarse && q.resetAt > qc.lastReset && qc.lastReset != 0
	if q.coarse && q.resetAt > qc.lastReset {
		qc.lastReset = q.resetAt
	}
	if a.seq < qc.remSeq || q.remaining < 0 {
		return // older news than what is known
	}
	// A fixed window gives back its whole allowance at once; a sliding
	// window or a bucket gives it back gradually, and only looks the
	// same after a pause (a hold), so only a jump between requests sent
	// close together counts.
	if q.remaining > qc.remaining+qc.limit/2 && a.sent.Sub(qc.remSent) < qc.window/4 {
		qc.fixed = true
	}
	if q.remaining > qc.remaining || newWindow {
		qc.dryOnce = false
	}
	qc.remaining, qc.remSeq, qc.remSent = q.remaining, a.seq, a.sent
	if q.resetSet {
		qc.resetAt = a.recv.Add(q.reset)
	}
	qc.adjust(a)
}

// adjust moves this Client's share of the quota: cut when the window ran
// dry while others were spending it, grown back otherwise.
func (qc *quotaControl) adjust(a answer) {
	now := a.recv
	dry := qc.remaining == 0 || a.status == 429
	if dry && !qc.dryOnce {
		qc.dryOnce = true
		own := qc.ownSince(now.Add(-qc.window))
		// The ring of sends holds len(sends): a Client alone on a larger
		// quota must not see others in what it forgot.
		if float64(own) < 0.9*float64(min(qc.limit, len(qc.sends))) && now.Sub(qc.cutAt) >= qc.window {
			qc.share = max(qc.share*quotaCut, 0.01)
			qc.cutAt, qc.growAt = now, now
		}
		return
	}
	if !dry && now.Sub(qc.growAt) >= qc.window {
		qc.share = min(qc.share+quotaGrow, 1)
		qc.growAt = now
	}
}

// rate is the pace the quota allows now, in requests a second.
func (qc *quotaControl) rate(now time.Time) float64 {
	if qc.limit <= 0 {
		return 0 // Remaining alone: the guard, no pace
	}
	if qc.window >= longWindow {
		return 0 // the guard alone; see quotaControl
	}
	r := float64(qc.limit) / qc.window.Seconds()
	// Never slower than one request a hold's bound: it brings news, and
	// a quota that looked spent may have been given back.
	return max(r*qc.share*quotaHeadroom, 1/maxHold.Seconds())
}

// blockedUntil is when the guard lets the next request go: now, unless
// the requests let through since the last answer have spent what it said
// remained. Then a fixed window's Client waits for the reset, and a
// sliding window's (or one whose reset has passed without news) one slot,
// after which one request goes to fetch fresh news.
func (qc *quotaControl) blockedUntil(now time.Time) time.Time {
	// A Client whose share was cut spends only its share of what
	// remains: every Client of a fleet is told the same Remaining.
	spent := float64(qc.seq - qc.remSeq)
	if qc.share < 1 && qc.limit > 0 && qc.window < longWindow {
		// In a fleet, others spend the same window meanwhile: at most
		// the limit's pace in all, of which this Client's share is its
		// own. What the fleet spent since then comes off what remained.
		fleet := now.Sub(qc.remSent).Seconds() * float64(qc.limit) / qc.window.Seconds()
		spent = max(spent, fleet*qc.share)
	}
	left := int(float64(qc.remaining)*qc.share+0.5) - int(math.Ceil(spent))
	if qc.remSeq == 0 || left > 0 {
		return time.Time{}
	}
	if qc.blockKey != [2]uint64{qc.remSeq, qc.seq} {
		qc.blockKey = [2]uint64{qc.remSeq, qc.seq}
		switch {
		case qc.fixed && qc.resetAt.After(now):
			qc.block = qc.resetAt
		case qc.limit > 0:
			qc.block = now.Add(time.Duration(float64(qc.window) / float64(qc.limit)))
		default:
			qc.block = now.Add(qc.window)
		}
		// Like a hold, a spent quota stops the Client for a bounded time;
		// then one request fetches fresh news.
		qc.block = earlier(qc.block, now.Add(maxHold))
	}
	return qc.block
}
