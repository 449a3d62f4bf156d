package agents

import (
	"math/rand/v2"
	"testing"
	"time"
)

// pacedAt returns a pacer whose controller paces at r a second with no
// burst, as after it has learnt a header-less limit.
func pacedAt(r float64) *pacer {
	p := newPacer(time.Minute, nil, true)
	p.ctl.rate.known, p.ctl.rate.rate = true, r
	return p
}

// pacedSends runs a head through p's slots in virtual time, as waitTurn
// does: it sends when next allows, and otherwise sleeps until the time
// next names and wakes late() after it. It returns the first n sends.
func pacedSends(p *pacer, n int, late func() time.Duration) []time.Time {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var sends []time.Time
	for len(sends) < n {
		at, _, _ := p.next(now)
		if at.After(now) {
			now = at.Add(late())
			continue
		}
		p.lim.ReserveN(now, 1)
		sends = append(sends, now)
	}
	return sends
}

// TestPaceForgivesLateWakeups checks, in virtual time, the head's early
// release (pacer.next): at 50/s a slot is 20 ms, and a head may go up to
// a 64th of it (312.5 µs) before its token is whole, so that a timer that
// wakes late does not cost its lateness for good. The times are written
// out rather than derived from lateSlack, so that a slack of another
// size fails here.
func TestPaceForgivesLateWakeups(t *testing.T) {
	t.Parallel()
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		sent []time.Duration // after t0; each must be allowed
		want time.Duration   // the next send allowed from, after t0
	}{
		{"first send goes at once", nil, 0},
		{"a slot later, less the slack", []time.Duration{0}, ms(19.6875)},
		{"an early send's debt is paid by the next", []time.Duration{0, ms(19.6875)}, ms(39.6875)},
		// A head sleeps until the slack's start: waking that late
		// still keeps it on the schedule.
		{"a wake-up as late as the slack costs nothing", []time.Duration{0, ms(20)}, ms(39.6875)},
		{"lateness past the slack is lost", []time.Duration{0, ms(20.9375)}, ms(40.625)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pacedAt(50)
			for _, d := range tt.sent {
				now := t0.Add(d)
				if at, _, _ := p.next(now); at.After(now) {
					t.Fatalf("send at %v refused until %v", d, at.Sub(t0))
				}
				p.lim.ReserveN(now, 1)
			}
			last := t0
			if n := len(tt.sent); n > 0 {
				last = t0.Add(tt.sent[n-1])
			}
			at, _, _ := p.next(last)
			if got := at.Sub(t0); got < tt.want-time.Microsecond || got > tt.want+time.Microsecond {
				t.Errorf("next send allowed at %v; want %v", got, tt.want)
			}
		})
	}
}

// TestPaceSlackKeepsSpacing runs a head that wakes up to 2 ms late at
// random against the pacer's slots at 50/s, and checks the promises of
// the slack: no two sends closer than 63/64 of a slot (19.6875 ms), and
// no more sends after the first in any span than the rate allows plus
// the 64th of a token the debt may hold.
func TestPaceSlackKeepsSpacing(t *testing.T) {
	t.Parallel()
	const r = 50
	const minGap = 19687500 * time.Nanosecond
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, seed))
		sends := pacedSends(pacedAt(r), 2000, func() time.Duration {
			return time.Duration(rng.Int64N(int64(2 * time.Millisecond)))
		})
		for i := 1; i < len(sends); i++ {
			if gap := sends[i].Sub(sends[i-1]); gap < minGap-time.Nanosecond {
				t.Fatalf("seed %d: sends %d and %d %v apart; want at least %v", seed, i-1, i, gap, minGap)
			}
		}
		for _, span := range []int{1, 2, 10, 100, 1999} {
			for i := 0; i+span < len(sends); i++ {
				d := sends[i+span].Sub(sends[i])
				if allowed := d.Seconds()*r + 1.0/64; float64(span) > allowed+1e-6 {
					t.Fatalf("seed %d: %d sends after the first in %v; the rate and the debt allow %.3f", seed, span, d, allowed)
				}
			}
		}
	}
}

// TestPaceSlackKeepsRate wakes the head a constant 250 µs late, within
// the slack, as Go's timers do: the sends keep exactly to the rate,
// where without the slack they fell 1.2% short.
func TestPaceSlackKeepsRate(t *testing.T) {
	t.Parallel()
	const r = 50
	sends := pacedSends(pacedAt(r), 1002, func() time.Duration { return 250 * time.Microsecond })
	// From the second send: the first went with a whole token.
	got := 1000 / sends[1001].Sub(sends[1]).Seconds()
	if got < r-0.01 || got > r+0.01 {
		t.Errorf("%.3f sends a second with wake-ups 250 µs late; want %d", got, r)
	}
}
