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

// TestPaceForgivesLateWakeups checks, in virtual time, the head's early
// release (pacer.next): a head may go up to a 32nd of a slot before its
// token is whole, so that a timer that wakes late does not cost its
// lateness for good, and yet no two sends come closer than 31/32 of a
// slot, and the sends never run ahead of the rate.
func TestPaceForgivesLateWakeups(t *testing.T) {
	t.Parallel()
	const r = 50
	slot := time.Second / r
	early := slot / lateSlack
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		sent []time.Duration // after t0; each must be allowed
		want time.Duration   // the next send allowed from, after t0
	}{
		{"first send goes at once", nil, 0},
		{"a slot later, less the slack", []time.Duration{0}, slot - early},
		{"an early send's debt is paid by the next", []time.Duration{0, slot - early}, 2*slot - early},
		// A head sleeps until the slack's start: waking that late
		// still keeps it on the schedule.
		{"a wake-up as late as the slack costs nothing", []time.Duration{0, slot}, 2*slot - early},
		{"lateness past the slack is lost", []time.Duration{0, slot + 3*early}, 2*slot + 2*early},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := pacedAt(r)
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
// random against the pacer's slots, and checks the two promises of the
// slack: no two sends closer than 31/32 of a slot, and no more sends in
// any span than the rate allows, plus one.
func TestPaceSlackKeepsSpacing(t *testing.T) {
	t.Parallel()
	const r = 50
	slot := time.Second / r
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, seed))
		p := pacedAt(r)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var sends []time.Time
		for len(sends) < 2000 {
			at, _, _ := p.next(now)
			if at.After(now) {
				now = at.Add(time.Duration(rng.Int64N(int64(2 * time.Millisecond))))
				continue
			}
			p.lim.ReserveN(now, 1)
			sends = append(sends, now)
		}
		for i := 1; i < len(sends); i++ {
			if gap := sends[i].Sub(sends[i-1]); gap < slot*(lateSlack-1)/lateSlack {
				t.Fatalf("seed %d: sends %d and %d %v apart; want at least %v", seed, i-1, i, gap, slot*(lateSlack-1)/lateSlack)
			}
		}
		for _, span := range []int{2, 10, 100, 1999} {
			for i := 0; i+span < len(sends); i++ {
				d := sends[i+span].Sub(sends[i])
				if allowed := d.Seconds()*r + 1; float64(span) > allowed+1e-9 {
					t.Fatalf("seed %d: %d sends in %v; the rate allows %.2f", seed, span+1, d, allowed+1)
				}
			}
		}
		late := 1 - float64(len(sends)-1)/(sends[len(sends)-1].Sub(sends[0]).Seconds()*r)
		t.Logf("seed %d: %.1f%% under the rate with up to 2 ms late wake-ups", seed, late*100)
	}
}
