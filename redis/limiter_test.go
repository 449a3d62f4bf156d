package agentsredis_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	"github.com/agentsapi/agents-go/internal/measure"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

// Four processes on one known limit send at most the limit together.
// Only the upper bound is asserted tightly: a loaded machine can make
// the fleet slower, never faster.
func TestFleetSharesKnownLimit(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	srv := newServer(t, func(_ int64, w http.ResponseWriter) { ok(w) })
	// Cancelled rather than given a deadline: a deadline would make the
	// last waits fail at once, as they should, and count as errors.
	ctx, cancel := context.WithCancel(context.Background())
	defer time.AfterFunc(1500*time.Millisecond, cancel).Stop()
	done := make(chan int64, 4)
	for range 4 {
		p := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{Limit: 20})
		go func() {
			n, errs := p.run(ctx, 4)
			for _, err := range errs {
				t.Errorf("call failed: %v", err)
			}
			done <- n
		}()
	}
	var total int64
	for range 4 {
		total += <-done
	}
	ts := srv.arrivals()
	if most := measure.Busiest(ts, time.Second); most > 22 {
		t.Errorf("%d requests arrived within one second; the fleet's limit is 20/s (burst 2)", most)
	}
	if total < 10 {
		t.Errorf("the fleet got %d calls through in 1.5 s at 20/s; want at least 10", total)
	}
}

// heldFleet is two processes on one Redis, the first of which got a 429
// whose header (Retry-After or Retry-After-Ms) is value: the fleet is held,
// and the second process is returned. The server then answers every
// request with a page when thenOK is set, and with the same 429 if not.
func heldFleet(t *testing.T, header, value string, thenOK bool) (*server, *process) {
	t.Helper()
	m := miniredis.RunT(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) {
		if n > 1 && thenOK {
			ok(w)
			return
		}
		w.Header().Set(header, value)
		w.WriteHeader(http.StatusTooManyRequests)
	})
	a := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{}, agents.WithMaxRetries(0))
	b := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{})
	if _, err := a.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{}); !errors.Is(err, agents.ErrRateLimitExceeded) {
		t.Fatalf("first call: %v; want the 429", err)
	}
	return srv, b
}

// A 429 with Retry-After that one process gets holds every process.
func TestFleetHoldsTogether(t *testing.T) {
	t.Parallel()
	srv, b := heldFleet(t, "Retry-After-Ms", "300", true)
	if _, err := b.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	ts := srv.arrivals()
	if len(ts) != 2 {
		t.Fatalf("%d requests arrived, want 2", len(ts))
	}
	if gap := ts[1].Sub(ts[0]); gap < 300*time.Millisecond {
		t.Errorf("the other process sent %v after the 429; want it held for the 300ms Retry-After", gap)
	}
}

// A hold that would outlast the caller's deadline fails at once with the
// hold's 429, as the Client's own hold does.
func TestFleetHoldPastDeadlineFailsAtOnce(t *testing.T) {
	t.Parallel()
	srv, b := heldFleet(t, "Retry-After", "10", false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := b.client.ListSessions(ctx, "agt_a", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if !errors.As(err, &apiErr) || !errors.Is(err, agents.ErrRateLimitExceeded) || apiErr.RetryAfter < 5*time.Second {
		t.Fatalf("err %v; want the fleet's hold as a 429 with about 10s left", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the refusal took %v; want it at once", took)
	}
	if n := srv.n.Load(); n != 1 {
		t.Errorf("%d requests sent; want only the first", n)
	}
}

// With Redis gone, calls go on paced locally; the Limiter says so once,
// and says when Redis is back, and then paces through it again.
func TestRedisDownFallsBackAndRecovers(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) { ok(w) })
	p := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{Limit: 200})
	call := func() {
		t.Helper()
		if _, err := p.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{}); err != nil {
			t.Fatalf("call failed: %v", err)
		}
	}
	for range 5 {
		call()
	}
	m.Close()
	for range 20 {
		call()
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the Limiter tries Redis again every 250ms
	for range 5 {
		call()
	}
	log := p.log.String()
	if got := strings.Count(log, "Redis unreachable"); got != 1 {
		t.Errorf("logged the failure %d times, want once:\n%s", got, log)
	}
	if !strings.Contains(log, "Redis reachable again") {
		t.Errorf("did not log the recovery:\n%s", log)
	}
	if len(m.Keys()) == 0 {
		t.Errorf("nothing in Redis after it came back: the fleet is not pacing through it")
	}
}

// Redis holds a hash of the API key, never the key, in every key name and
// value the Limiter writes.
func TestRedisNeverHoldsTheKey(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) {
		if n == 2 {
			w.Header().Set("Retry-After-Ms", "5")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("X-RateLimit-Limit", "100")
		w.Header().Set("X-RateLimit-Remaining", "99")
		w.Header().Set("X-RateLimit-Reset", "1")
		ok(w)
	})
	p := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{})
	for range 4 {
		if _, err := p.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{}); err != nil {
			t.Fatal(err)
		}
	}
	keys := m.Keys()
	if len(keys) != 2 {
		t.Errorf("keys %q; want the state and the GCRA budget", keys)
	}
	dump := strings.Join(keys, " ") + m.Dump()
	if strings.Contains(dump, fakeapi.DefaultKey) || strings.Contains(dump, "0123456789") {
		t.Errorf("Redis holds the API key or part of it:\n%s", dump)
	}
}

// A limit the server's headers state is written for every process to
// pace by; a 429 without headers cuts a learnt rate.
func TestFleetLearnsFromAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		status int
		want   map[string]string // of the state hash, beyond "start"
	}{
		{
			name:   "X-RateLimit headers",
			header: map[string]string{"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "29", "X-RateLimit-Reset": "1"},
			status: 200,
			want:   map[string]string{"limit": "30", "window": "1000"},
		},
		{
			name:   "IETF policy",
			header: map[string]string{"RateLimit-Policy": `"default";q=600;w=60`, "RateLimit": `"default";r=599;t=60`},
			status: 200,
			want:   map[string]string{"limit": "600", "window": "60000"},
		},
		{
			name:   "429 without headers",
			header: map[string]string{"Retry-After-Ms": "5"},
			status: 429,
			want:   map[string]string{"wmax": "8.000", "cut": "*", "cuts": "1", "hold": "*", "strict": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := miniredis.RunT(t)
			srv := newServer(t, func(n int64, w http.ResponseWriter) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				if tt.status != 200 {
					w.WriteHeader(tt.status)
					return
				}
				ok(w)
			})
			p := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{}, agents.WithMaxRetries(0))
			p.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{})
			var state string
			for _, k := range m.Keys() {
				if strings.HasSuffix(k, ":state") {
					state = k
				}
			}
			got := map[string]string{}
			fields, err := m.HKeys(state)
			if err != nil {
				t.Fatalf("no shared state: %v (keys %q)", err, m.Keys())
			}
			for _, f := range fields {
				if f == "start" {
					continue
				}
				got[f] = m.HGet(state, f)
				if tt.want[f] == "*" {
					got[f] = "*"
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("shared state (-want +got):\n%s", diff)
			}
		})
	}
}

// A caller queued behind the one waiting out the fleet's hold fails at
// once when its deadline falls inside the hold, rather than at its
// deadline.
func TestQueuedCallerPastTheHoldFailsAtOnce(t *testing.T) {
	t.Parallel()
	_, b := heldFleet(t, "Retry-After", "5", false)
	head, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.client.ListSessions(head, "agt_a", agents.ListSessionsParams{}) // waits out the hold
	}()
	defer func() { stop(); <-done }()
	time.Sleep(100 * time.Millisecond) // the first caller is at the head, in the hold
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := b.client.ListSessions(ctx, "agt_a", agents.ListSessionsParams{})
	if !errors.Is(err, agents.ErrRateLimitExceeded) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v; want the hold's 429 at once, not the deadline", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the refusal took %v; want it at once", took)
	}
}

// Learning without headers, a 429 takes as the fleet's rate what the
// server accepted just before it, not the (faster) rate the slow start
// allowed by then: one caller, a server that takes 60ms a request, so
// that the accepted rate stays near 16/s while the slow start allows
// twice what got through.
func TestFleetLearnsTheAcceptedRate(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) {
		if n > 30 {
			w.Header().Set("Retry-After-Ms", "5")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		time.Sleep(60 * time.Millisecond)
		ok(w)
	})
	p := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{}, agents.WithMaxRetries(0))
	for range 31 {
		p.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{})
	}
	var state string
	for _, k := range m.Keys() {
		if strings.HasSuffix(k, ":state") {
			state = k
		}
	}
	wmax, err := strconv.ParseFloat(m.HGet(state, "wmax"), 64)
	if err != nil {
		t.Fatalf("no learnt rate in %q: %v", state, err)
	}
	// At most 1/60ms = 16.7/s got through; the slow start allowed 30 or
	// more by then. A loaded machine makes the server slower, not faster.
	if wmax < 5 || wmax > 20 {
		t.Errorf("learnt %.1f/s; want the accepted rate, at most 16.7/s", wmax)
	}
}
