package agentsredis

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRate(t *testing.T) {
	t.Parallel()
	learn, known := &Limiter{opts: Options{Burst: 2}}, &Limiter{opts: Options{Limit: 50, Burst: 2}}
	cut := func(wmax float64, since time.Duration) shared {
		return shared{wmax: wmax, sinceCut: since, accepted: wmax, cuts: 2}
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	tests := []struct {
		name string
		l    *Limiter
		s    shared
		want float64
	}{
		// With a burst of 2, one request of each window is the burst's.
		{"known limit, whatever is shared", known, shared{limit: 10, window: time.Second, sinceCut: -1}, 48},
		{"a server that refused once gets no burst, and the burst's room", known, shared{sinceCut: -1, strict: true}, 49},
		{"headers: 30 a second", learn, shared{limit: 30, window: time.Second, sinceCut: -1}, 28.4},
		{"headers: 600 a minute", learn, shared{limit: 600, window: time.Minute, sinceCut: -1}, 587.0 / 60},
		{"headers: 2 a second, the burst slows but does not stop", learn, shared{limit: 2, window: time.Second, sinceCut: -1}, 0.98},
		{"headers win over a learnt cut", learn, shared{limit: 30, window: time.Second, wmax: 80, sinceCut: time.Second}, 28.4},
		{"slow start at first", learn, shared{sinceCut: -1}, startRate},
		{"slow start doubles what got through", learn, shared{sinceCut: -1, accepted: 20}, 40},
		{"slow start is bounded", learn, shared{sinceCut: -1, accepted: 1e6}, maxRate},
		{"a 429 drops to 85%", learn, cut(50, 0), 42.5},
		{"then climbs", learn, cut(50, sec(2)), 45},
		{"to 95% in 4s", learn, cut(50, rampUp), 47.5},
		{"and stays there", learn, cut(50, sec(9.9)), 47.5},
		{"then probes past it, 5% in 5s", learn, cut(50, sec(15)), 50 * (0.95 + 0.05*1.25)},
		{"faster as it goes on", learn, cut(50, sec(30)), 50 * (0.95 + 0.05*4*2)},
		{"but no further than twice what gets through", learn, shared{wmax: 50, sinceCut: sec(30), accepted: 30}, 60},
		{"nor under the plateau when idle", learn, shared{wmax: 50, sinceCut: time.Hour}, 47.5},
		{"after the slow start's cut, probing starts at once", learn, shared{wmax: 50, sinceCut: rampUp, accepted: 50, cuts: 1}, 47.5},
		{"and goes faster", learn, shared{wmax: 50, sinceCut: rampUp + sec(2), accepted: 50, cuts: 1}, 50 * (0.95 + 0.05*1.25)},
		{"never under the floor", learn, cut(0.1, 0), minRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, burst := tt.l.pace(tt.s)
			wantBurst := 1 // while learning from 429s
			if (tt.l.opts.Limit > 0 || tt.s.limit > 0) && !tt.s.strict {
				wantBurst = 2
			}
			if diff := cmp.Diff([2]float64{tt.want, float64(wantBurst)}, [2]float64{r, float64(burst)}, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
				t.Errorf("rate and burst (-want +got):\n%s", diff)
			}
		})
	}
}

// The GCRA limit keeps a tenth of a request a second, and never asks
// redis_rate for a rate of zero.
func TestLimit(t *testing.T) {
	t.Parallel()
	got := []int{limit(49, 2).Rate, limit(0.26, 2).Rate, limit(0, 2).Rate}
	if diff := cmp.Diff([]int{490, 3, 1}, got); diff != "" {
		t.Errorf("GCRA requests per 10s (-want +got):\n%s", diff)
	}
	if b := limit(49, 2).Burst; b != 2 {
		t.Errorf("burst %d, want 2", b)
	}
}
