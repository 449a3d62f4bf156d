package agentsredis

import (
	"math"
	"testing"
	"time"
)

// The share a process keeps to while Redis is down measures how fast it
// sent while it was sending, not how long it sat idle: a process that sent
// once an hour ago and once now must not be held to one request every half
// hour when Redis goes down (that stops it), while a busy one keeps to
// what it sent at.
func TestShareIgnoresIdleTime(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	idle := &pacer{lastRate: 49}
	idle.sent(t0)
	idle.sent(t0.Add(time.Hour))
	if got := idle.shareNow(t0.Add(time.Hour)); got < 1 {
		t.Errorf("share after an idle hour: %.5f/s; want at least 1/s (the fleet's rate is 49/s)", got)
	}

	busy := &pacer{lastRate: 49}
	for i := range 51 {
		busy.sent(t0.Add(time.Duration(i) * 20 * time.Millisecond)) // 50/s for a second
	}
	if got := busy.shareNow(t0.Add(time.Second)); math.Abs(got-50) > 5 {
		t.Errorf("share of a process sending 50/s: %.2f/s; want about 50", got)
	}
}

// Rate-limit headers are the server's word, but one absurd value must
// neither lift pacing entirely (a limit of 10^12 a second) nor all but
// stop the fleet (one request a day): the rate stays within the bounds the
// learnt rate keeps to, as the built-in pacer's does.
func TestRateBoundsHeaders(t *testing.T) {
	t.Parallel()
	l := &Limiter{opts: Options{Burst: 2}}
	tests := []struct {
		name string
		s    shared
		want float64
	}{
		{"10^12 a second", shared{limit: 1e12, window: time.Second, sinceCut: -1}, maxRate},
		{"one a day", shared{limit: 1, window: 24 * time.Hour, sinceCut: -1}, minRate},
	}
	for _, tt := range tests {
		if got, _ := l.pace(tt.s); got != tt.want {
			t.Errorf("%s: rate %g, want %g", tt.name, got, tt.want)
		}
	}
	// Nor may a rate too large for an int reach redis_rate as a negative
	// or a tiny one.
	if got := limit(1e30, 2).Rate; got < int(maxRate*10) {
		t.Errorf("limit(1e30).Rate = %d; want at least maxRate's %d", got, int(maxRate*10))
	}
}
