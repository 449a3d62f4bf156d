package agents

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// adaptive paces a Client whose server limit is unknown. It sends as fast
// as asked until the first 429, then:
//
//   - slow start: from the rate the server accepted in the last second,
//     double every slowStartStep while callers are held back by the pacing,
//     until the next 429;
//   - on that 429 the rate that last held (lo) and the one that failed (hi)
//     bracket the server's limit, and pacing settles at
//     min((lo+hi)/2, 1.2·lo);
//   - in steady state, a 429 cuts the rate by a sixth, and every probeEvery
//     spent held back without a 429 raises it by 5%, so a raised server
//     limit is found again.
//
// A 429 is expensive: every Retry-After holds the whole Client, so the
// design spends few of them, and counts only one per change of rate (the
// others answered requests sent at the old rate).
type adaptive struct {
	lim *rate.Limiter

	mu        sync.Mutex
	known     bool // a 429 has been seen; rate is meaningful
	slowStart bool
	rate      float64
	lo        float64
	changed   time.Time // when rate last changed
	limited   bool      // some caller waited for pacing since changed

	winStart time.Time // accepted-requests counter for the last second
	winCount int
	prevRate float64
}

const (
	slowStartStep = 100 * time.Millisecond
	probeEvery    = 5 * time.Second
	minRate       = 0.5 // requests per second; never stop entirely
)

func newAdaptive() *adaptive {
	return &adaptive{lim: rate.NewLimiter(rate.Inf, 1)}
}

func (a *adaptive) wait(ctx context.Context) error {
	start := time.Now()
	if err := a.lim.Wait(ctx); err != nil {
		return err
	}
	if time.Since(start) > time.Millisecond {
		a.mu.Lock()
		a.limited = true
		a.mu.Unlock()
	}
	return nil
}

func (a *adaptive) accepted(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Sub(a.winStart) >= time.Second {
		a.prevRate = float64(a.winCount) / max(now.Sub(a.winStart).Seconds(), 1)
		a.winStart, a.winCount = now, 0
	}
	a.winCount++
	if !a.known || !a.limited {
		return
	}
	switch {
	case a.slowStart && now.Sub(a.changed) >= slowStartStep:
		a.lo = a.rate
		a.set(now, a.rate*2)
	case !a.slowStart && now.Sub(a.changed) >= probeEvery:
		a.lo = a.rate
		a.set(now, a.rate*1.05)
	}
}

func (a *adaptive) throttled(now, sent time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.known && sent.Before(a.changed) {
		return // sent at a rate already given up
	}
	switch {
	case !a.known:
		a.known, a.slowStart = true, true
		a.set(now, max(a.recentRate(now), 1))
	case a.slowStart:
		a.slowStart = false
		lo := a.lo
		if lo == 0 {
			lo = a.rate / 2
		}
		a.set(now, min((lo+a.rate)/2, 1.2*lo))
	default:
		a.set(now, a.rate*5/6)
	}
}

// recentRate is how many requests per second the server accepted lately.
func (a *adaptive) recentRate(now time.Time) float64 {
	cur := float64(a.winCount) / max(now.Sub(a.winStart).Seconds(), 1)
	return max(cur, a.prevRate)
}

func (a *adaptive) set(now time.Time, r float64) {
	a.rate = max(r, minRate)
	a.changed = now
	a.limited = false
	a.lim.SetLimitAt(now, rate.Limit(a.rate))
}
