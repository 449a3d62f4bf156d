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

	"github.com/agentsapi/agents-go/internal/measure"
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
	// ietf sends only the IETF RateLimit and RateLimit-Policy fields, the
	// reset rounded up.
	ietf bool
	// phase starts the windows this far into each virtual second (when
	// the server started, not on the wall clock's second, as go-limiter's
	// and ulule's windows do).
	phase  time.Duration
	window int64
	count  int
}

func (s *simWindow) serve(now time.Time) (int, http.Header, time.Duration) {
	w := now.Add(-s.phase).Unix()
	if w != s.window {
		s.window, s.count = w, 0
	}
	h := http.Header{}
	ok := s.count < s.n
	if ok {
		s.count++
	}
	switch {
	case s.ietf:
		reset := time.Unix(w+1, 0).Add(s.phase).Sub(now)
		h.Set("RateLimit-Policy", fmt.Sprintf(`"default";q=%d;w=1`, s.n))
		h.Set("RateLimit", fmt.Sprintf(`"default";r=%d;t=%d`, s.n-s.count, int(math.Ceil(reset.Seconds()))))
	case s.headers:
		// The reset in whole Unix seconds, truncated as go-limiter's and
		// ulule's are when their windows start off the second.
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.n))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(s.n-s.count))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Unix(w+1, 0).Add(s.phase).Unix(), 10))
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
	oks, refused := simulateFleet(srv, 1, workers, d, jitter, seed)
	return oks[0], refused
}

// simulateFleet is simulateJitter for clients Clients (processes on one
// key) with workers callers each, sharing srv; it returns each Client's
// accepted requests.
func simulateFleet(srv simServer, clients, workers int, d, jitter time.Duration, seed uint64) (oks []int, refused int) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(seed, seed))
	type flight struct {
		t      ticket
		status int
		h      http.Header
		arrive time.Time
		served bool
		recv   time.Time
	}
	type client struct {
		ctl      *controller
		inflight []flight
		holdTill time.Time
		nextSlot time.Time
		seq      uint64
		ready    int // callers waiting to send
	}
	cs := make([]*client, clients)
	for i := range cs {
		cs[i] = &client{ctl: newController(), ready: workers}
	}
	oks = make([]int, clients)
	for now := start; now.Before(start.Add(d)); now = now.Add(100 * time.Microsecond) {
		// Requests reaching the server by now, in order of arrival.
		for {
			var first *flight
			for _, c := range cs {
				for i := range c.inflight {
					f := &c.inflight[i]
					if !f.served && !f.arrive.After(now) && (first == nil || f.arrive.Before(first.arrive)) {
						first = f
					}
				}
			}
			if first == nil {
				break
			}
			status, h, lat := srv.serve(first.arrive)
			first.status, first.h, first.recv, first.served = status, h, first.arrive.Add(lat), true
		}
		for ci, c := range cs {
			// Answers due by now, in order.
			for i := 0; i < len(c.inflight); {
				f := c.inflight[i]
				if !f.served || f.recv.After(now) {
					i++
					continue
				}
				c.inflight = append(c.inflight[:i], c.inflight[i+1:]...)
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
						c.holdTill = later(c.holdTill, quiet)
					}
				} else {
					oks[ci]++
				}
				if hasQuotaHeaders(f.h) {
					a.quota, a.hasQuota = parseQuota(f.h, f.recv)
				}
				if simAnswers {
					fmt.Printf("ans %d sent %v recv %v status %d\n", ci, f.t.sent.Sub(start), f.recv.Sub(start), f.status)
				}
				c.ctl.answered(a, quiet)
				c.ready++
			}
			// Send what the pace allows now.
			for c.ready > 0 {
				if now.Before(c.holdTill) {
					break
				}
				pc := c.ctl.pace(now)
				if pc.n > 0 && len(c.inflight) >= pc.n {
					c.ctl.demand(now, true)
					break
				}
				at := later(now, pc.notBefore)
				if pc.r > 0 {
					at = later(at, c.nextSlot)
				}
				if at.After(now) {
					c.ctl.demand(now, false)
					break
				}
				c.seq++
				t := ticket{seq: c.seq, sent: now, inflight: len(c.inflight)}
				c.ctl.sent(now, c.seq)
				if pc.r > 0 {
					c.nextSlot = now.Add(time.Duration(float64(time.Second) / pc.r))
				}
				f := flight{t: t, arrive: now}
				if jitter > 0 {
					f.arrive = now.Add(time.Duration(rng.Int64N(int64(jitter))))
				}
				if !f.arrive.After(now) {
					status, h, lat := srv.serve(now)
					f.status, f.h, f.recv, f.served = status, h, now.Add(lat), true
				}
				c.inflight = append(c.inflight, f)
				c.ready--
			}
			if simTrace && now.Sub(start)%(250*time.Millisecond) == 0 {
				pc := c.ctl.pace(now)
				fmt.Printf("sim %d %5.2fs rate %6.1f conc %d ok %d hold %v lo %.1f hi %.1f\n", ci, now.Sub(start).Seconds(), pc.r, pc.n, oks[ci], c.holdTill.Sub(now).Round(time.Millisecond), c.ctl.rate.lo, c.ctl.rate.hi)
			}
		}
	}
	return oks, refused
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
// reach the server up to 2 ms late, as the lab's do on a busy machine,
// over several seeds: a pacer that is only right on a perfect schedule
// draws a hold for every pair the network brings closer. (At 1 ms the
// jitter never crossed the margins the pacer keeps, and every seed gave
// the figures of a perfect schedule.)
func TestControllerJitter(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Second
	tests := []struct {
		name   string
		srv    func() simServer
		limit  float64
		minPct float64
	}{
		{"token bucket 50/s burst 1", func() simServer { return &simBucket{r: 50, b: 1} }, 50, 66},                                                 // 71-77%
		{"token bucket 50/s burst 5", func() simServer { return &simBucket{r: 50, b: 5} }, 50, 80},                                                 // 85%
		{"token bucket 50/s, 25/s after 10s", func() simServer { return &simBucket{r: 50, b: 5, dropAt: 10 * time.Second, dropTo: 25} }, 37.5, 70}, // 75%
		{"fixed window 50/s, no headers", func() simServer { return &simWindow{n: 50} }, 50, 93},                                                   // 98%
		{"4 slots of 20ms", func() simServer { return &simSlots{n: 4, d: 20 * time.Millisecond} }, 200, 87},                                        // 90%
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var pcts []float64
			for seed := range uint64(5) {
				ok, _ := simulateJitter(tt.srv(), 16, d, 2*time.Millisecond, seed)
				pcts = append(pcts, float64(ok)/d.Seconds()/tt.limit*100)
			}
			t.Logf("%% of the limit over 5 seeds: %.0f", pcts)
			if worst := slices.Min(pcts); worst < tt.minPct {
				t.Errorf("worst of 5 seeds got %.0f%% of the limit, want at least %.0f%%", worst, tt.minPct)
			}
		})
	}
}

// TestSimulatorJitterBites checks the simulation itself, so that the
// jitter tests above cannot pass by a simulator that drops the jitter: a
// bucket with no burst must refuse some pairs that 3 ms of jitter brings
// too close, and the seeds must not all agree.
func TestSimulatorJitterBites(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Second
	still, _ := simulateJitter(&simBucket{r: 50, b: 1}, 16, d, 0, 0)
	seen := map[int]bool{}
	for seed := range uint64(4) {
		ok, _ := simulateJitter(&simBucket{r: 50, b: 1}, 16, d, 3*time.Millisecond, seed)
		if ok >= still {
			t.Errorf("seed %d: %d accepted with 3 ms of jitter, %d without; want fewer with", seed, ok, still)
		}
		seen[ok] = true
	}
	if len(seen) < 2 {
		t.Errorf("4 seeds all gave the same count: the jitter's draws do not reach the server")
	}
}

// TestControllerFleet runs fleets of 4 and 8 Clients (processes on one
// key, 16 callers in all), each Client learning alone: nothing is shared
// but the server. The floors sit under
// the worst of three seeds today. Independent Clients cannot share a
// burst-1 bucket or four slots well (each 429 holds only the Client
// that drew it, and they collide at random); a shared store
// (agentsredis) is the answer there, and the floors only guard against
// a collapse.
func TestControllerFleet(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Second
	type floor struct{ pct, jain float64 }
	tests := []struct {
		name  string
		srv   func() simServer
		limit float64
		at    map[int]floor // by fleet size
	}{
		{"token bucket 50/s burst 1", func() simServer { return &simBucket{r: 50, b: 1} }, 50, map[int]floor{4: {35, 0.2}, 8: {20, 0.1}}},
		{"token bucket 50/s burst 5", func() simServer { return &simBucket{r: 50, b: 5} }, 50, map[int]floor{4: {70, 0.9}, 8: {72, 0.75}}},
		{"fixed window 50/s, no headers", func() simServer { return &simWindow{n: 50} }, 50, map[int]floor{4: {65, 0.9}, 8: {83, 0.9}}},
		{"4 slots of 20ms", func() simServer { return &simSlots{n: 4, d: 20 * time.Millisecond} }, 200, map[int]floor{4: {80, 0.6}, 8: {70, 0.4}}},
		// With headers every Client sees the same Remaining, and the
		// fleet converges on the limit and on fair shares.
		{"fixed window 50/s, X-RateLimit headers", func() simServer { return &simWindow{n: 50, headers: true} }, 50, map[int]floor{4: {90, 0.9}, 8: {90, 0.9}}},
		// Off the second, a reset in whole seconds is up to a second early:
		// the Clients find the window spent at the reset it names and cut
		// their shares every window (71 to 80% at every phase tried).
		{"fixed window 50/s off the second, X-RateLimit headers", func() simServer { return &simWindow{n: 50, headers: true, phase: 300 * time.Millisecond} }, 50, map[int]floor{4: {65, 0.9}, 8: {70, 0.9}}},
		{"fixed window 50/s off the second, IETF headers", func() simServer { return &simWindow{n: 50, ietf: true, phase: 300 * time.Millisecond} }, 50, map[int]floor{4: {80, 0.9}, 8: {85, 0.9}}},
	}
	for _, tt := range tests {
		for _, n := range []int{4, 8} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, n), func(t *testing.T) {
				t.Parallel()
				var pcts, jains []float64
				for seed := range uint64(3) {
					oks, _ := simulateFleet(tt.srv(), n, 16/n, d, time.Millisecond, seed)
					sum := 0
					for _, ok := range oks {
						sum += ok
					}
					pcts = append(pcts, float64(sum)/d.Seconds()/tt.limit*100)
					jains = append(jains, measure.Jain(oks))
				}
				t.Logf("%% of the limit %.0f, Jain %.2f", pcts, jains)
				f := tt.at[n]
				if p, j := slices.Min(pcts), slices.Min(jains); p < f.pct || j < f.jain {
					t.Errorf("worst of 3 seeds: %.0f%% of the limit, Jain %.2f; want at least %.0f%% and %.2f", p, j, f.pct, f.jain)
				}
			})
		}
	}
}
