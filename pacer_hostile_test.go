package agents_test

// Probe tests from the adversarial review of the pacer (issues 10 and 11).
// Each one drives a Client black-box over loopback against a hostile or
// buggy server written here: absurd rate-limit headers and Retry-After
// values, a skewed server clock, a hold in front of WithRateLimit, a
// daily quota. Each failed against the pacer as first written.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/measure"
)

const probePage = `{"sessions":[],"metadata":{"page_key":null,"total_count":0}}`

// probeServer answers with h and records when each request arrived.
type probeServer struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
	n     atomic.Int64
}

func newProbeServer(t *testing.T, h func(n int64, w http.ResponseWriter, r *http.Request)) *probeServer {
	t.Helper()
	ps := &probeServer{}
	ps.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		ps.times = append(ps.times, time.Now())
		ps.mu.Unlock()
		h(ps.n.Add(1), w, r)
	}))
	t.Cleanup(ps.Close)
	return ps
}

func (ps *probeServer) client(t *testing.T, opts ...agents.Option) *agents.Client {
	t.Helper()
	base := []agents.Option{
		agents.WithBaseURL(ps.URL),
		agents.WithAPIKey("probe-key-SECRET"),
		agents.WithHTTPClient(ps.Client()),
		agents.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
	}
	c, err := agents.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

// arrivals returns when the requests arrived, in order.
func (ps *probeServer) arrivals() []time.Time {
	ps.mu.Lock()
	ts := append([]time.Time(nil), ps.times...)
	ps.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts
}

func ok200(w http.ResponseWriter, hdr map[string]string) {
	for k, v := range hdr {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(probePage))
}

// One answer with absurd rate-limit headers stops the Client: every later
// call is refused at once by its own pacer, without ever asking the server
// again, for years (the quota stays "active" for 10 windows and only an
// answer could update it). The Client-wide hold after a 429 is bounded to
// a minute; the quota's guard and pace are not bounded at all.
var nextSlot = regexp.MustCompile(`the next slot is (\S+) away`)

func TestProbeQuotaAbsurdHeadersStopClient(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		// 100000000 s is 3 years, as a delta (it is under the 1e9 that
		// readReset takes for Unix seconds).
		"X-RateLimit remaining 0, reset 3y": {
			"X-RateLimit-Limit": "1", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "100000000",
		},
		// Plenty remaining: the steady rate alone (limit/window) is 1 per
		// 3 years.
		"X-RateLimit remaining 999, reset 3y": {
			"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "999", "X-RateLimit-Reset": "100000000",
		},
		"RateLimit-Policy w=3y": {
			"RateLimit-Policy": `"default";q=1;w=100000000`, "RateLimit": `"default";r=0;t=1`,
		},
	}
	for name, hdr := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { ok200(w, hdr) })
			c := ps.client(t)
			var errs []string
			for i := range 5 {
				// A short deadline: a bounded wait is refused at once and
				// says how long it would be, which must be at most the
				// hold's bound of a minute.
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				_, err := c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{})
				cancel()
				if err == nil {
					continue
				}
				m := nextSlot.FindStringSubmatch(err.Error())
				if m == nil {
					errs = append(errs, fmt.Sprintf("call %d: %v", i+1, err))
					continue
				}
				if d, perr := time.ParseDuration(m[1]); perr != nil || d > time.Minute {
					errs = append(errs, fmt.Sprintf("call %d: %v", i+1, err))
				}
			}
			t.Logf("server saw %d of 5 calls; stats %+v", ps.n.Load(), c.PacingStats())
			if len(errs) > 0 {
				t.Errorf("calls refused by the Client's own pacer after one hostile answer (want them sent, or a wait bounded like the hold's minute):\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

// A Retry-After of more than 308 digits overflows ParseFloat (ErrRange), is
// dropped as unparsable, and the call retries after its own millisecond
// backoff: a request sent long before the time the server named.
func TestProbeRetryAfterOverlongDigitsIgnored(t *testing.T) {
	t.Parallel()
	huge := "1" + strings.Repeat("0", 400)
	ps := newProbeServer(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", huge)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ok200(w, nil)
	})
	c := ps.client(t)
	_, err := c.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{})
	if got := ps.n.Load(); got != 1 {
		t.Errorf("server got %d requests, want 1: the retry went before the (absurd) time the server named; err=%v", got, err)
	}
	var apiErr *agents.APIError
	if !errors.As(err, &apiErr) || apiErr.RetryAfter <= time.Minute {
		t.Errorf("err = %v, want the 429 at once with a saturated RetryAfter", err)
	}
}

// burstAfterHold makes a Client with opts whose first call gets a 429
// with Retry-After: 1, then calls it from 20 goroutines at once, held
// back by the Client-wide hold, and returns when their requests arrived,
// in order, and when the hold ended.
func burstAfterHold(t *testing.T, opts ...agents.Option) ([]time.Time, time.Time) {
	t.Helper()
	var holdOnce atomic.Bool
	ps := newProbeServer(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n == 1 && holdOnce.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ok200(w, nil)
	})
	c := ps.client(t, append(opts, agents.WithMaxRetries(0))...)
	ctx := context.Background()
	if _, err := c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{}); err == nil {
		t.Fatal("want the 429")
	}
	holdEnd := c.PacingStats().HoldUntil
	if holdEnd.IsZero() {
		t.Fatal("no hold")
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{}) })
	}
	wg.Wait()
	return ps.arrivals()[1:], holdEnd
}

// WithRateLimit callers take their fixed slot before they queue behind the
// Client-wide hold, so the slots pass unused during the hold, and once it
// ends every caller that queued is let go over at most the stagger (a
// tenth of the hold, geometrically bunched at its end): many times the
// rate WithRateLimit promises.
func TestProbeFixedRateBurstsAfterHold(t *testing.T) {
	t.Parallel()
	const r = 20
	ts, holdEnd := burstAfterHold(t, agents.WithRateLimit(r, 1))
	// At 20/s with a burst of 1, any 100 ms holds at most 3 requests.
	most := measure.Busiest(ts, 100*time.Millisecond)
	t.Logf("hold ended %v; %d requests, at most %d within 100ms", holdEnd.Format("15:04:05.000"), len(ts), most)
	if most > 4 {
		t.Errorf("%d requests within 100ms under WithRateLimit(%d, 1): want at most 3", most, r)
	}
}

// With adaptive pacing off the hold's stagger is all there is, and it
// divides what is left of the spread by queued-1, but queued counts only the
// head (it is incremented after the head position is won), so n is always 1:
// each release is half-way to the end of the spread and the rest of the
// queue goes at its end in the same millisecond.
func TestProbeHoldStaggerBunchesAtEnd(t *testing.T) {
	t.Parallel()
	ts, _ := burstAfterHold(t, agents.WithAdaptivePacing(false))
	// The spread is 100 ms (a tenth of the 1 s hold): 20 callers spread
	// over it are ~5 ms apart; allow 3x that density in any 5 ms.
	most := measure.Busiest(ts, 5*time.Millisecond)
	t.Logf("%d requests over %v, at most %d within 5ms", len(ts), ts[len(ts)-1].Sub(ts[0]), most)
	if most > 4 {
		t.Errorf("%d of 20 held callers sent within 5 ms: the stagger bunches at its end", most)
	}
}

// A server whose clock runs ahead names Retry-After as a date on its own
// clock; the rate-limit headers' reset is corrected by the server's Date
// (readReset), Retry-After is not, so a 1 s wait reads as 91 s and the
// call gives up at once instead of retrying a second later.
func TestProbeRetryAfterDateSkew(t *testing.T) {
	t.Parallel()
	const skew = 90 * time.Second
	ps := newProbeServer(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			srvNow := time.Now().Add(skew)
			w.Header().Set("Date", srvNow.UTC().Format(http.TimeFormat))
			w.Header().Set("Retry-After", srvNow.Add(time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ok200(w, nil)
	})
	c := ps.client(t)
	_, err := c.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{})
	if err != nil {
		t.Errorf("err = %v; want a retry about 1 s later (the server's clock is %v ahead, as its Date says)", err, skew)
	}
}

// What the review found fine, kept as regression guards: hostile headers
// that must neither panic, spin, nor stop the Client.
func TestProbeHostileHeadersHarmless(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"limit 0":             {"X-RateLimit-Limit": "0"},
		"remaining -5":        {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "-5", "X-RateLimit-Reset": "1"},
		"reset far past unix": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "1000000000"},
		"reset unix ms 1e300": {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "1e300"},
		"reset date 9999":     {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "Fri, 31 Dec 9999 23:59:59 GMT"},
		"reset NaN":           {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "10", "X-RateLimit-Reset": "NaN"},
		"policy w=0 q=1e18":   {"RateLimit-Policy": `"d";q=1e18;w=0`},
		"policy q huge":       {"RateLimit-Policy": `"d";q=100000000000000000000;w=1`},
		"ratelimit r=-1":      {"RateLimit": `"d";r=-1;t=-1`},
		"limit 2^30":          {"X-RateLimit-Limit": "1073741824", "X-RateLimit-Remaining": "1073741824"},
		"limit w=huge":        {"X-RateLimit-Limit": "50;w=99999999999999999999", "X-RateLimit-Remaining": "10"},
	}
	for name, hdr := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { ok200(w, hdr) })
			c := ps.client(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for range 5 {
				if _, err := c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{}); err != nil {
					t.Fatalf("%v (stats %+v)", err, c.PacingStats())
				}
			}
			if s := c.PacingStats(); s.Rate < 0 || s.Rate != s.Rate {
				t.Errorf("PacingStats().Rate = %v", s.Rate)
			}
		})
	}
}

// Retry-After values a buggy server sends on a 429: never a panic, never
// a retry before the named time, a huge one refused at once with
// RetryAfter saturated, a negative or past one treated as "now".
func TestProbeRetryAfterHostile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		hdr       map[string]string
		wantCalls int64 // requests the server sees with WithMaxRetries(1)
	}{
		{"zero", map[string]string{"Retry-After": "0"}, 2},
		{"negative", map[string]string{"Retry-After": "-5"}, 2},
		{"past date", map[string]string{"Retry-After": "Mon, 01 Jan 2001 00:00:00 GMT"}, 2},
		{"huge", map[string]string{"Retry-After": "999999999999999"}, 1},
		{"far date", map[string]string{"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, 1},
		{"ms NaN", map[string]string{"Retry-After-Ms": "NaN"}, 2},
		{"ms huge", map[string]string{"Retry-After-Ms": "1e300"}, 1},
		{"ms negative", map[string]string{"Retry-After-Ms": "-100"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.hdr {
					w.Header().Set(k, v)
				}
				w.WriteHeader(http.StatusTooManyRequests)
			})
			c := ps.client(t, agents.WithMaxRetries(1))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{})
			var apiErr *agents.APIError
			if !errors.As(err, &apiErr) || !errors.Is(err, agents.ErrRateLimitExceeded) {
				t.Fatalf("err = %v, want an *APIError matching ErrRateLimitExceeded", err)
			}
			if got := ps.n.Load(); got != tc.wantCalls {
				t.Errorf("server got %d requests, want %d (err %v)", got, tc.wantCalls, err)
			}
			if strings.Contains(err.Error(), "probe-key-SECRET") {
				t.Errorf("key in error: %v", err)
			}
		})
	}
}

// A hold the server asked to last longer than WithMaxRetryWait fails
// every other call at once with the 429, and a cancelled context ends a
// wait for the hold at once.
func TestProbeHoldRefusalAndCancel(t *testing.T) {
	t.Parallel()
	var first atomic.Bool
	ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		if first.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		ok200(w, nil)
	})
	c := ps.client(t, agents.WithMaxRetries(0))
	if _, err := c.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{}); err == nil {
		t.Fatal("want 429")
	}
	// Deadline inside the hold: refused at once with the 429.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter <= 0 {
		t.Errorf("err = %v, want the hold's 429 with RetryAfter", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("refusal took %v, want at once", d)
	}
	// No deadline: waits; cancel ends the wait at once.
	ctx2, cancel2 := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.ListSessions(ctx2, "agt_x", agents.ListSessionsParams{})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel2()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("cancel did not end the hold wait")
	}
	if got := ps.n.Load(); got != 1 {
		t.Errorf("server got %d requests during the hold, want 1", got)
	}
}

// A realistic daily quota, nearly all of it left: the quota's steady rate
// (limit/window, quota.go:152-160) paces at 10000/86400 = 0.11 per second,
// so the third of three quick calls is refused at once (a 2 s deadline)
// though the server said 9,999 requests remain. The quota doc comment
// (quota.go:16-18) still promises to spread what remains over the window.
func TestProbeDailyQuotaCrawls(t *testing.T) {
	t.Parallel()
	ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		ok200(w, map[string]string{"X-RateLimit-Limit": "10000", "X-RateLimit-Remaining": "9999", "X-RateLimit-Reset": "86400"})
	})
	c := ps.client(t)
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{})
		cancel()
		if err != nil {
			t.Errorf("call %d: %v (stats %+v)", i+1, err, c.PacingStats())
		}
	}
}

// A server that caps requests in flight (2, 20 ms each) and answers 429
// at once without Retry-After when full: many goroutines on one Client
// must all finish (no lost wake-up of a head waiting on a full cap, no
// deadlock), under -race.
func TestProbeConcurrencyCapNoHang(t *testing.T) {
	t.Parallel()
	sem := make(chan struct{}, 2)
	ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		select {
		case sem <- struct{}{}:
			time.Sleep(20 * time.Millisecond)
			<-sem
			ok200(w, nil)
		default:
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	c := ps.client(t, agents.WithMaxRetries(10))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 8 {
				if _, err := c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{}); err != nil {
					failed.Add(1)
					if ctx.Err() != nil {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("64 calls against a cap of 2 did not finish in 20 s: stats %+v", c.PacingStats())
	}
	t.Logf("failed %d of 64; stats %+v", failed.Load(), c.PacingStats())
}

// Every release during a hold's spread closes news, which wakes every
// caller queued for the head: each re-locks p.mu and recomputes, so n
// queued callers could cost O(n²) wake-ups packed into the spread. Today
// the stagger collapses after a few releases (TestProbeHoldStaggerBunchesAtEnd)
// and this passes (0.7x); it guards the fix of that bug, after which every
// one of n releases would wake the queue. CPU time, not wall time, and a
// 3x margin, so that a loaded machine does not make it flake.
func TestProbeHoldReleaseThunderingHerd(t *testing.T) {
	const n = 400
	run := func(hold bool) time.Duration {
		var first atomic.Bool
		ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
			if hold && first.CompareAndSwap(false, true) {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			ok200(w, nil)
		})
		c := ps.client(t, agents.WithAdaptivePacing(false), agents.WithMaxRetries(0))
		ctx := context.Background()
		if hold {
			c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{})
		}
		start := processCPU()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { c.ListSessions(ctx, "agt_x", agents.ListSessionsParams{}) })
		}
		wg.Wait()
		return processCPU() - start
	}
	free, held := run(false), run(true)
	t.Logf("%d calls: %v CPU without a hold, %v released after one", n, free, held)
	if held > 3*free {
		t.Errorf("releasing %d callers after a hold costs %.1fx the CPU of the same calls without one", n, float64(held)/float64(free))
	}
}

// WithRateLimit(NaN, 1) passes NewClient's check (cfg.limit <= 0 is false
// for NaN), then paces nothing, and PacingStats reports Rate NaN, which
// encoding/json refuses to marshal.
func TestProbeWithRateLimitNaNAccepted(t *testing.T) {
	t.Parallel()
	ps := newProbeServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) { ok200(w, nil) })
	_, err := agents.NewClient(agents.WithBaseURL(ps.URL), agents.WithAPIKey("k"), agents.WithRateLimit(rate.Limit(math.NaN()), 1))
	if err == nil || !strings.HasPrefix(err.Error(), "agents:") {
		t.Errorf("NewClient(WithRateLimit(NaN, 1)) err = %v, want an agents: error", err)
	}
}
