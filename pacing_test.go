package agents_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/time/rate"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// sentKey marks a call's context with a counter of the attempts it sent,
// so that a test can tell a call the Client refused without asking the
// server from one the server answered too late.
type sentKey struct{}

// countAttempts is a Hooks that counts, in the counter the call's context
// carries, every attempt that passed the Client's hold and pacing.
var countAttempts = agents.WithHooks(agents.Hooks{
	OnAttempt: func(ctx context.Context, _ agents.AttemptEvent) {
		if n, ok := ctx.Value(sentKey{}).(*atomic.Int32); ok {
			n.Add(1)
		}
	},
})

// refusedUnasked reports whether err is a refusal to wait that the Client
// made on its own, without an *APIError from the server to show for it.
func refusedUnasked(err error) bool {
	var apiErr *agents.APIError
	if errors.As(err, &apiErr) {
		return false
	}
	return errors.Is(err, context.DeadlineExceeded) || strings.HasPrefix(err.Error(), "agents: client-side rate limit")
}

// TestPacingRefusesOnlyCertainMisses (issue 11: 1): callers with seconds
// to spare must not be refused because pacing's first estimate of the
// server's rate is low. The server allows 40 a second, so 30 callers
// with 3-second deadlines all fit; any that fail must at least have
// asked the server.
func TestPacingRefusesOnlyCertainMisses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		burst      int
		retryAfter string
	}{
		{"no Retry-After", 5, ""},
		{"Retry-After 1", 5, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, countAttempts)
			srv.SetRateLimit(40, tc.burst, tc.retryAfter)
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				refused []string
			)
			for range 30 {
				wg.Go(func() {
					var sent atomic.Int32
					ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), sentKey{}, &sent), 3*time.Second)
					defer cancel()
					_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
					if err != nil && refusedUnasked(err) && sent.Load() == 0 {
						mu.Lock()
						refused = append(refused, err.Error())
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if len(refused) > 0 {
				t.Errorf("%d of 30 callers refused without asking the server; first: %s", len(refused), refused[0])
			}
		})
	}
}

// TestPacingWaitBoundedByMaxRetryWait (issue 11: 5): WithMaxRetryWait
// bounds every wait a call can meet, the fixed rate's included.
func TestPacingWaitBoundedByMaxRetryWait(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithRateLimit(rate.Every(2*time.Second), 1), agents.WithMaxRetryWait(100*time.Millisecond))
	ctx := context.Background()
	if _, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	took := time.Since(start)
	if err == nil || !strings.HasPrefix(err.Error(), "agents: client-side rate limit") || !errors.Is(err, agents.ErrRateLimitExceeded) {
		t.Fatalf("err = %v; want the rate limit's refusal, matching ErrRateLimitExceeded", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v matches context.DeadlineExceeded; the call had no deadline", err)
	}
	// The slot is 2s away: a call that slept for it took at least that.
	if took >= time.Second {
		t.Errorf("the refused call took %v; want it refused at once", took)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("the server saw %d requests, want 1", n)
	}
}

// TestHoldStaggerRefusedPastDeadline (issue 11: 6): after a hold, the
// held callers are let go spread over a tenth of it. A caller whose
// deadline falls inside that spread must get the hold's 429 when the
// Client finds it cannot send in time, not sleep into "context deadline
// exceeded" without having asked the server.
func TestHoldStaggerRefusedPastDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		callers int
	}{
		{name: "one caller", callers: 1},
		// Queued latest deadline first, so that those with the earliest
		// deadlines wait behind slots they cannot make.
		{name: "eight callers, latest deadline first", callers: 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithMaxRetries(0), agents.WithAdaptivePacing(false), countAttempts)
			until := holdOneSecond(t, srv, c)
			// The hold is 1s, its spread 100ms: deadlines inside it. The
			// pause between callers only orders the queue; the outcome
			// must not depend on it.
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				errs []error
			)
			for i := tc.callers - 1; i >= 0; i-- {
				deadline := until.Add(time.Duration(5+90*i/tc.callers) * time.Millisecond)
				wg.Go(func() {
					var sent atomic.Int32
					ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), sentKey{}, &sent), deadline)
					defer cancel()
					_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
					if err != nil && refusedUnasked(err) && sent.Load() == 0 {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				})
				time.Sleep(5 * time.Millisecond)
			}
			wg.Wait()
			for _, err := range errs {
				t.Errorf("a held caller got %v without asking the server; want the hold's 429 (ErrRateLimitExceeded, *APIError)", err)
			}
		})
	}
}

// holdOneSecond sets c's Client-wide hold with one call that srv answers
// 429 with Retry-After: 1, and returns when the hold ends.
func holdOneSecond(t *testing.T, srv *fakeapi.Server, c *agents.Client) time.Time {
	t.Helper()
	srv.Script(fakeapi.Status(429, "1"))
	if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); !errors.Is(err, agents.ErrRateLimitExceeded) {
		t.Fatalf("first call: %v; want the scripted 429", err)
	}
	until := c.PacingStats().HoldUntil
	if until.IsZero() {
		t.Fatal("no hold after a 429 with Retry-After: 1")
	}
	return until
}

// lateWake is a context whose Done comes before its Deadline says: what a
// caller sees when the timer that should have let it go before its
// deadline fires late on a busy machine, and the deadline passes first.
type lateWake struct {
	context.Context // ends early, with DeadlineExceeded
	deadline        time.Time
}

func (c lateWake) Deadline() (time.Time, bool) { return c.deadline, true }

// TestHoldDeadlinePassedWhileWaiting: a caller whose deadline passes while
// it waits out a hold it had room for gets the hold's 429 with the
// deadline's error, not a bare deadline error that hides why it waited.
// (Under load the stagger test above saw a bare one about once in five
// runs.)
func TestHoldDeadlinePassedWhileWaiting(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(0), agents.WithAdaptivePacing(false))
	until := holdOneSecond(t, srv, c)
	early, cancel := context.WithDeadline(context.Background(), until.Add(-300*time.Millisecond))
	defer cancel()
	_, err := c.ListSessions(lateWake{Context: early, deadline: until.Add(50 * time.Millisecond)}, "agt_customer_support", agents.ListSessionsParams{})
	t.Log(err)
	var apiErr *agents.APIError
	got := []bool{errors.As(err, &apiErr), errors.Is(err, agents.ErrRateLimitExceeded), errors.Is(err, context.DeadlineExceeded)}
	if diff := cmp.Diff([]bool{true, true, true}, got); diff != "" {
		t.Errorf("err = %v; *APIError, ErrRateLimitExceeded, DeadlineExceeded (-want +got):\n%s", err, diff)
	}
}

// TestLastAPIErrorKept (issue 11: 8): when the retry after a 503 is
// refused by the Client's own pacing, the caller still gets the 503 as an
// *APIError, joined with the reason the call stopped.
func TestLastAPIErrorKept(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		opts     []agents.Option
		timeout  time.Duration // 0: no deadline
		hold     bool          // another call sets a 30s hold before the retry
		wantIs   []error
		wantText string
	}{
		{
			name:     "WithRateLimit slot past WithMaxRetryWait",
			opts:     []agents.Option{agents.WithRateLimit(rate.Every(time.Hour), 1)},
			wantIs:   []error{agents.ErrRateLimitExceeded},
			wantText: "longer than WithMaxRetryWait",
		},
		{
			name:     "WithRateLimit slot past the deadline",
			opts:     []agents.Option{agents.WithRateLimit(rate.Every(time.Hour), 1), agents.WithMaxRetryWait(2 * time.Hour)},
			timeout:  10 * time.Second,
			wantIs:   []error{agents.ErrRateLimitExceeded, context.DeadlineExceeded},
			wantText: "past the context's deadline",
		},
		{
			name:     "a hold longer than WithMaxRetryWait",
			opts:     []agents.Option{agents.WithMaxRetryWait(time.Second), agents.WithAdaptivePacing(false)},
			hold:     true,
			wantIs:   []error{agents.ErrRateLimitExceeded},
			wantText: "holding back",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			var c *agents.Client
			opts := tc.opts
			if tc.hold {
				// Between the 503 and its retry, another call meets a
				// 429 that holds the Client for 30s.
				var once sync.Once
				opts = append(opts, agents.WithHooks(agents.Hooks{
					OnRetry: func(ctx context.Context, _ agents.RetryEvent) {
						once.Do(func() {
							c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}, agents.WithCallMaxRetries(0))
						})
					},
				}))
				srv.Script(fakeapi.Status(503, ""), fakeapi.Status(429, "30"))
			} else {
				srv.Script(fakeapi.Status(503, ""))
			}
			c = newClient(t, srv, opts...)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the call took %v; want the refusal at once", took)
			}
			if err == nil {
				t.Fatal("err = nil; want the 503")
			}
			var apiErr *agents.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Attempts != 1 {
				t.Errorf("err = %v; want an *APIError with StatusCode 503 and Attempts 1", err)
			}
			for _, target := range tc.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("err = %v; want it to match %v, the reason the call stopped", err, target)
				}
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "agents: ") || !strings.Contains(msg, "503") || !strings.Contains(msg, tc.wantText) {
				t.Errorf("err = %q; want it to start \"agents: \" and name the 503 and %q", msg, tc.wantText)
			}
			if strings.Count(err.Error(), "agents: ") > 1 {
				t.Errorf("err = %q repeats the prefix", err)
			}
		})
	}
}

// TestCancelDuringPacingWaitAfter503: a caller who cancels while the
// retry after a 503 waits for its pacing slot gets the context's error,
// as when cancelling during a retry's backoff, not the 503 it moved on
// from.
func TestCancelDuringPacingWaitAfter503(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithRateLimit(rate.Every(time.Minute), 1))
	srv.Script(fakeapi.Status(503, ""))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if !errors.Is(err, context.Canceled) || errors.As(err, &apiErr) || !strings.HasPrefix(err.Error(), "agents: ") {
		t.Fatalf("err = %v; want agents: ... context.Canceled, and no *APIError", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("cancel took %v to end the pacing wait", took)
	}
}

// TestHoldBounded (issue 11: 11): an absurd Retry-After fails the call at
// once with the server's value, but holds the Client for at most a
// minute, so that it is not disabled for years. (A test cannot wait the
// minute out; the hold's end is what PacingStats shows.)
func TestHoldBounded(t *testing.T) {
	t.Parallel()
	farDate := "Fri, 31 Dec 9999 23:59:59 GMT"
	for _, tc := range []struct {
		name       string
		retryAfter string
		want       func() time.Duration
	}{
		{"delta-seconds", "999999999", func() time.Duration { return 999999999 * time.Second }},
		{"far-future date", farDate, func() time.Duration {
			d, _ := time.Parse(time.RFC1123, farDate)
			return time.Until(d) // saturates at the longest Duration
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			srv.Script(fakeapi.Status(429, tc.retryAfter))
			start := time.Now()
			_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the call took %v; want it to fail at once", took)
			}
			var apiErr *agents.APIError
			if !errors.As(err, &apiErr) || !errors.Is(err, agents.ErrRateLimitExceeded) {
				t.Fatalf("err = %v; want the 429", err)
			}
			if want := tc.want(); apiErr.RetryAfter < want-time.Minute || apiErr.RetryAfter > want {
				t.Errorf("RetryAfter = %v; want about the server's %v", apiErr.RetryAfter, want)
			}
			until := c.PacingStats().HoldUntil
			if until.IsZero() {
				t.Fatal("PacingStats().HoldUntil is zero; want a hold after a 429 with Retry-After")
			}
			if ahead := time.Until(until); ahead > time.Minute+time.Second {
				t.Errorf("the hold ends %v from now; want at most about a minute", ahead)
			}
		})
	}
}
