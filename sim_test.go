package agents

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The controller is a pure function of events and their times, so these
// tests drive it in virtual time against models of the limiters that
// servers run: deterministic, and a 20-second run takes milliseconds.
// The scenario lab (bench/) runs the same code against the real
// middleware at wall-clock speed; this is its regression net.

// SIM_TRACE=1 prints the pace every 250 ms of virtual time;
// SIM_TRACE=answers prints every answer as well.
var (
	simTrace   = os.Getenv("SIM_TRACE") != ""
	simAnswers = os.Getenv("SIM_TRACE") == "answers"
)

// simServer is a limiter model: it answers a request arriving at now
// with a status and headers, and says how long the request takes.
type simServer interface {
	serve(now time.Time) (status int, h http.Header, latency time.Duration)
	done(now time.Time) // a request finished (for concurrency caps)
}

// simBucket is a token bucket of rate r and burst b that answers 429 with
// Retry-After rounded up to whole seconds, and no other header.
type simBucket struct {
	r      float64
	b      float64
	tokens float64
	last   time.Time
	// From dropAt into the run, the rate is dropTo: a plan change or a
	// degraded backend under a running Client.
	dropAt time.Duration
	dropTo float64
	start  time.Time
}

func (s *simBucket) serve(now time.Time) (int, http.Header, time.Duration) {
	if s.last.IsZero() {
		s.tokens, s.last, s.start = s.b, now, now
	}
	if s.dropAt > 0 && now.Sub(s.start) >= s.dropAt {
		s.r, s.dropAt = s.dropTo, 0
	}
	s.tokens = math.Min(s.b, s.tokens+now.Sub(s.last).Seconds()*s.r)
	s.last = now
	if s.tokens >= 1 {
		s.tokens--
		return 200, nil, time.Millisecond
	}
	wait := (1 - s.tokens) / s.r
	h := http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(wait)))}}
	return 429, h, time.Millisecond / 2
}
func (*simBucket) done(time.Time) {}

// simWindow is a fixed window of n a second on the virtual clock's
// whole seconds; with headers it also sends X-RateLimit-* as most
// middleware does.
type simWindow struct {
	n       int
	headers bool
	window  int64
	count   int
}

func (s *simWindow) serve(now time.Time) (int, http.Header, time.Duration) {
	w := now.Unix()
	if w != s.window {
		s.window, s.count = w, 0
	}
	h := http.Header{}
	ok := s.count < s.n
	if ok {
		s.count++
	}
	if s.headers {
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.n))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(s.n-s.count))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(w+1, 10))
	}
	if ok {
		return 200, h, time.Millisecond
	}
	h.Set("Retry-After", "1")
	return 429, h, time.Millisecond / 2
}
func (*simWindow) done(time.Time) {}

// simSlots caps requests in flight at n, each taking d; a refusal is
// immediate with Retry-After: 1.
type simSlots struct {
	n, busy int
	d       time.Duration
}

func (s *simSlots) serve(time.Time) (int, http.Header, time.Duration) {
	if s.busy >= s.n {
		return 429, http.Header{"Retry-After": {"1"}}, 100 * time.Microsecond
	}
	s.busy++
	return 200, nil, s.d
}
func (s *simSlots) done(time.Time) {
	if s.busy > 0 {
		s.busy--
	}
}

// simulate runs workers closed-loop callers through one controller for
// d of virtual time, honouring its pace and the Client-wide hold as the
// pacer does, and returns the accepted requests and the 429s.
func simulate(srv simServer, workers int, d time.Duration) (ok, refused int) {
	return simulateJitter(srv, workers, d, 0, 0)
}

// simulateJitter is simulate with each request reaching the server up to
// jitter late (uniformly, from a generator seeded with seed), as requests
// do over a real network and scheduler: a pair sent a slot apart may
// arrive closer, and in either order.
func simulateJitter(srv simServer, workers int, d, jitter time.Duration, seed uint64) (ok, refused int) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctl := newController()
	rng := rand.New(rand.NewPCG(seed, seed))
	type flight struct {
		t      ticket
		status int
		h      http.Header
		arrive time.Time
		served bool
		recv   time.Time
	}
	var (
		now      = start
		inflight []flight
		holdTill time.Time
		nextSlot time.Time
		seq      uint64
		ready    = workers // callers waiting to send
	)
	for now.Before(start.Add(d)) {
		// Requests reaching the server by now, in order of arrival.
		for {
			first := -1
			for i, f := range inflight {
				if !f.served && !f.arrive.After(now) && (first < 0 || f.arrive.Before(inflight[first].arrive)) {
					first = i
				}
			}
			if first < 0 {
				break
			}
			f := &inflight[first]
			status, h, lat := srv.serve(f.arrive)
			f.status, f.h, f.recv, f.served = status, h, f.arrive.Add(lat), true
		}
		// Answers due by now, in order.
		for i := 0; i < len(inflight); {
			f := inflight[i]
			if !f.served || f.recv.After(now) {
				i++
				continue
			}
			inflight = append(inflight[:i], inflight[i+1:]...)
			if f.status == 200 {
				srv.done(f.recv)
			}
			a := answer{seq: f.t.seq, sent: f.t.sent, recv: f.recv, inflight: f.t.inflight, status: f.status}
			var quiet time.Time
			if f.status == 429 {
				refused++
				if ra, okRA := retryAfter(f.h, f.recv); okRA {
					a.retryAfter = ra
					quiet = f.recv.Add(ra)
					holdTill = later(holdTill, quiet)
				}
			} else {
				ok++
			}
			if hasQuotaHeaders(f.h) {
				a.quota, a.hasQuota = parseQuota(f.h, f.recv)
			}
			if simAnswers {
				fmt.Printf("ans sent %v recv %v status %d\n", f.t.sent.Sub(start), f.recv.Sub(start), f.status)
			}
			ctl.answered(a, quiet)
			ready++
		}
		// Send what the pace allows now.
		for ready > 0 {
			if now.Before(holdTill) {
				break
			}
			pc := ctl.pace(now)
			if pc.n > 0 && len(inflight) >= pc.n {
				ctl.demand(now, true)
				break
			}
			at := later(now, pc.notBefore)
			if pc.r > 0 {
				at = later(at, nextSlot)
			}
			if at.After(now) {
				ctl.demand(now, false)
				break
			}
			seq++
			t := ticket{seq: seq, sent: now, inflight: len(inflight)}
			ctl.sent(now, seq)
			if pc.r > 0 {
				nextSlot = now.Add(time.Duration(float64(time.Second) / pc.r))
			}
			f := flight{t: t, arrive: now}
			if jitter > 0 {
				f.arrive = now.Add(time.Duration(rng.Int64N(int64(jitter))))
			}
			if !f.arrive.After(now) {
				status, h, lat := srv.serve(now)
				f.status, f.h, f.recv, f.served = status, h, now.Add(lat), true
			}
			inflight = append(inflight, f)
			ready--
		}
		now = now.Add(100 * time.Microsecond)
		if simTrace && now.Sub(start)%(250*time.Millisecond) == 0 {
			pc := ctl.pace(now)
			fmt.Printf("sim %5.2fs rate %6.1f conc %d ok %d 429 %d hold %v lo %.1f hi %.1f\n", now.Sub(start).Seconds(), pc.r, pc.n, ok, refused, holdTill.Sub(now).Round(time.Millisecond), ctl.rate.lo, ctl.rate.hi)
		}
	}
	return ok, refused
}

// TestControllerConverges checks, in virtual time, that the controller
// gets most of the limit through on each shape of limiter with few
// 429s: the shapes of the lab, without the network's jitter. The floors
// sit a few points under what the controller reaches today (see the
// comment on each), so that a change that loses ground fails here
// before the lab is run; issue 10's targets are judged in the lab.
func TestControllerConverges(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Second
	tests := []struct {
		name    string
		srv     func() simServer
		limit   float64 // requests a second the shape allows
		minPct  float64
		max429s int
	}{
		// Each 429 holds the Client for its Retry-After (a second here),
		// so without headers a few probes past the limit cost most.
		{"token bucket 50/s burst 1", func() simServer { return &simBucket{r: 50, b: 1} }, 50, 72, 20},                                                 // 77%, 17 429s
		{"token bucket 50/s burst 5", func() simServer { return &simBucket{r: 50, b: 5} }, 50, 80, 20},                                                 // 85%, 12
		{"token bucket 50/s, 25/s after 10s", func() simServer { return &simBucket{r: 50, b: 5, dropAt: 10 * time.Second, dropTo: 25} }, 37.5, 70, 20}, // 75%, 14
		{"fixed window 50/s, no headers", func() simServer { return &simWindow{n: 50} }, 50, 93, 20},                                                   // 98%, 14
		// The opening's 16 at once overdraw the first window: one 429.
		{"fixed window 50/s, X-RateLimit headers", func() simServer { return &simWindow{n: 50, headers: true} }, 50, 92, 3}, // 94%, 1
		{"4 slots of 20ms", func() simServer { return &simSlots{n: 4, d: 20 * time.Millisecond} }, 200, 90, 15},             // 95%, 12
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, refused := simulate(tt.srv(), 16, d)
			pct := float64(ok) / d.Seconds() / tt.limit * 100
			t.Logf("%d accepted (%.0f%% of the limit), %d refused", ok, pct, refused)
			if pct < tt.minPct || refused > tt.max429s {
				t.Errorf("got %.0f%% of the limit with %d 429s; want at least %.0f%% with at most %d",
					pct, refused, tt.minPct, tt.max429s)
			}
		})
	}
}

// TestControllerSurvivesAbsurdOpening feeds the controller openings
// that break naive estimators (a server that refuses everything at
// first, a huge limit) and checks it neither stops nor runs away.
func TestControllerSurvivesAbsurdOpening(t *testing.T) {
	t.Parallel()
	for _, r := range []float64{1, 5, 500} {
		t.Run(fmt.Sprintf("bucket %v/s", r), func(t *testing.T) {
			t.Parallel()
			ok, refused := simulate(&simBucket{r: r, b: 1}, 16, 20*time.Second)
			pct := float64(ok) / 20 / r * 100
			t.Logf("%d accepted (%.0f%%), %d refused", ok, pct, refused)
			if pct < 55 || pct > 101 {
				t.Errorf("got %.0f%% of a %v/s limit, want 55..101%%", pct, r)
			}
		})
	}
}

// TestControllerJitter runs the header-less shapes with requests that
// reach the server up to 1 ms late, as the lab's do on a busy machine,
// over several seeds: a pacer that is only right on a perfect schedule
// draws a hold for every pair the network brings closer.
func TestControllerJitter(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Second
	tests := []struct {
		name   string
		srv    func() simServer
		limit  float64
		minPct float64
	}{
		{"token bucket 50/s burst 1", func() simServer { return &simBucket{r: 50, b: 1} }, 50, 70},                                                 // 76%
		{"token bucket 50/s burst 5", func() simServer { return &simBucket{r: 50, b: 5} }, 50, 80},                                                 // 85%
		{"token bucket 50/s, 25/s after 10s", func() simServer { return &simBucket{r: 50, b: 5, dropAt: 10 * time.Second, dropTo: 25} }, 37.5, 70}, // 75%
		{"fixed window 50/s, no headers", func() simServer { return &simWindow{n: 50} }, 50, 93},                                                   // 98%
		{"4 slots of 20ms", func() simServer { return &simSlots{n: 4, d: 20 * time.Millisecond} }, 200, 87},                                        // 92%
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var pcts []float64
			for seed := range uint64(5) {
				ok, _ := simulateJitter(tt.srv(), 16, d, time.Millisecond, seed)
				pcts = append(pcts, float64(ok)/d.Seconds()/tt.limit*100)
			}
			t.Logf("%% of the limit over 5 seeds: %.0f", pcts)
			if worst := slices.Min(pcts); worst < tt.minPct {
				t.Errorf("worst of 5 seeds got %.0f%% of the limit, want at least %.0f%%", worst, tt.minPct)
			}
		})
	}
}
