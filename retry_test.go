package agents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	"github.com/agentsapi/agents-go/internal/scenario"
)

func TestRetriedAndNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		fault   fakeapi.Fault
		retried bool
	}{
		{"429", fakeapi.Status(429, "0"), true},
		{"429 without Retry-After", fakeapi.Status(429, ""), true},
		{"500", fakeapi.Status(500, ""), true},
		{"502", fakeapi.Status(502, ""), true},
		{"503", fakeapi.Status(503, ""), true},
		{"504", fakeapi.Status(504, ""), true},
		{"dropped connection", fakeapi.Drop(), true},
		{"2xx body cut off", fakeapi.Truncate(), true},
		// Framed as complete (Content-Length), so net/http would have
		// reported a cut: the server sent exactly this, and would again.
		{"framed 2xx JSON ends mid-value", fakeapi.Raw(200, "application/json", `{"sessions":[{"id":"a"`), false},
		{"400", fakeapi.Status(400, ""), false},
		{"401", fakeapi.Status(401, ""), false},
		{"403", fakeapi.Status(403, ""), false},
		{"404", fakeapi.Status(404, ""), false},
		{"501", fakeapi.Status(501, ""), false},
		{"complete invalid 2xx", fakeapi.Raw(200, "text/html", "<html>maintenance</html>"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			srv.Script(tt.fault)
			page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			n := len(srv.Requests())
			if tt.retried {
				if err != nil || len(page.Sessions) == 0 || n != 2 {
					t.Fatalf("got %v after %d requests; want the page on the second", err, n)
				}
				return
			}
			if err == nil || n != 1 {
				t.Fatalf("got err %v after %d requests; want an error and no retry", err, n)
			}
		})
	}
}

func TestRetriesOff(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(0))
	srv.Script(fakeapi.Status(503, ""))
	_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || len(srv.Requests()) != 1 {
		t.Fatalf("err = %v after %d requests; want the 503 at once", err, len(srv.Requests()))
	}
}

func TestExhaustedRetriesReturnLastResponse(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(2))
	srv.Script(fakeapi.Status(500, ""), fakeapi.Status(502, ""),
		rawFault(503, `{"error":{"code":"service_unavailable","message":"down for maintenance"}}`))
	_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v (%T), want *APIError", err, err)
	}
	want := &agents.APIError{StatusCode: 503, Code: "service_unavailable", Message: "down for maintenance", RequestID: "req_000003"}
	if diff := cmp.Diff(want, apiErr, ignoreErrorDetails); diff != "" {
		t.Errorf("last error (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "giving up") {
		t.Errorf("go-retryablehttp's message leaked through: %v", err)
	}
	if n := len(srv.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
	}
}

func TestExhaustedRetriesOnTransportError(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(2))
	srv.Script(fakeapi.Drop(), fakeapi.Drop(), fakeapi.Drop())
	_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	if err == nil || !strings.HasPrefix(err.Error(), "agents: ") || !strings.Contains(err.Error(), "after 3 attempts") {
		t.Fatalf("err = %v; want an agents: error saying it tried 3 times", err)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	// An HTTP date has a resolution of one second: name the next whole
	// second but one, and require the retry not to come before it.
	notBefore := time.Now().Add(2 * time.Second).Truncate(time.Second)
	tests := []struct {
		name       string
		retryAfter string
		minGap     time.Duration
	}{
		{"seconds", "1", time.Second},
		{"HTTP date", notBefore.UTC().Format(http.TimeFormat), -1},
		{"date in the past", "Mon, 02 Jan 2006 15:04:05 GMT", 0},
		{"garbage falls back to backoff", "soon-ish", 0},
		{"negative falls back to backoff", "-3", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			srv.Script(fakeapi.Status(429, tt.retryAfter))
			if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			gap := reqs[1].Time.Sub(reqs[0].Time)
			if tt.minGap < 0 && reqs[1].Time.Before(notBefore) {
				t.Errorf("retried at %v; the server named %v", reqs[1].Time, notBefore)
			}
			if gap < tt.minGap {
				t.Errorf("retried after %v; the server asked for at least %v", gap, tt.minGap)
			}
			if tt.minGap == 0 && gap > 900*time.Millisecond { // backoff is 1-4ms here
				t.Errorf("retried after %v; want the millisecond backoff", gap)
			}
		})
	}
}

func TestWaitTooLongReturnsAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter string
		deadline   time.Duration
		opts       []agents.Option
		want       time.Duration
	}{
		{"longer than the context's deadline", "5", 300 * time.Millisecond, nil, 5 * time.Second},
		{"longer than WithMaxRetryWait", "120", 0, []agents.Option{agents.WithMaxRetryWait(time.Second)}, 2 * time.Minute},
		{"an hour, default max wait", "3600", 0, nil, time.Hour},
		{"absurd", "99999999999999999999", 0, nil, time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, tt.opts...)
			srv.Script(fakeapi.Status(429, tt.retryAfter))
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
			elapsed := time.Since(start)
			var apiErr *agents.APIError
			if !errors.Is(err, agents.ErrRateLimitExceeded) || !errors.As(err, &apiErr) || apiErr.RetryAfter != tt.want {
				t.Fatalf("err = %v; want ErrRateLimitExceeded with RetryAfter %v", err, tt.want)
			}
			// The refused waits are 5s to an hour; a second allows for a
			// loaded CI machine.
			if elapsed > time.Second {
				t.Errorf("took %v; a wait that cannot be kept must not be started", elapsed)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

func TestCancelDuringWait(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.Script(fakeapi.Status(503, "30"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "agents: ") {
		t.Fatalf("err = %v, want agents: ... context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("cancel took %v to end the wait", elapsed)
	}
}

func TestAttemptTimeout(t *testing.T) {
	t.Parallel()
	for _, f := range []fakeapi.Fault{fakeapi.Hang(), fakeapi.Trickle(20 * time.Millisecond), fakeapi.Slow(2 * time.Second)} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithAttemptTimeout(150*time.Millisecond))
			srv.Script(f)
			start := time.Now()
			page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			if err != nil || len(page.Sessions) == 0 {
				t.Fatalf("err = %v; want the page from the retry after the attempt timed out", err)
			}
			if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
				t.Errorf("took %v; the attempt timeout should have cut the first attempt", elapsed)
			}
		})
	}
}

func TestContextBoundsHungCall(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithAttemptTimeout(0))
	srv.Script(fakeapi.Hang())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

// TestOne429HoldsTheClient checks that after one call meets a 429 with
// Retry-After, no other call on the Client reaches the server before the
// named time.
func TestOne429HoldsTheClient(t *testing.T) {
	t.Parallel()
	// The Client logs a retry only after it has taken in the 429 and set
	// the hold; the test waits for that line before starting the other
	// goroutines. (Waiting for the server to log the request raced: the
	// 429 could still be on its way back.)
	retries := make(chan struct{}, 16)
	srv, c := setup(t, agents.WithAdaptivePacing(false), agents.WithLogger(slog.New(&retrySignal{retries})))
	srv.Script(fakeapi.Status(429, "1"))
	if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	<-retries
	// The first call waited out its own Retry-After; now make a fresh
	// 429 and let eight goroutines pile in behind it.
	srv.Script(fakeapi.Status(429, "1"))
	var wg sync.WaitGroup
	wg.Go(func() {
		c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	})
	<-retries
	for range 8 {
		wg.Go(func() {
			if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	reqs := srv.Requests()
	throttledAt := reqs[2].Time
	var later []time.Duration
	for _, r := range reqs[3:] {
		later = append(later, r.Time.Sub(throttledAt))
		if r.Time.Sub(throttledAt) < time.Second-10*time.Millisecond {
			t.Errorf("a request went out %v after the 429; the Client should hold back 1s", r.Time.Sub(throttledAt))
		}
	}
	if len(later) != 9 {
		t.Errorf("%d requests after the 429, want 9", len(later))
	}
	// They resume spread out (up to a tenth of the hold), not at once.
	if spread := slices.Max(later) - slices.Min(later); spread < 5*time.Millisecond {
		t.Errorf("the held calls resumed within %v of each other; want them staggered", spread)
	}
}

// retrySignal is a slog.Handler that signals each retry the Client logs.
type retrySignal struct{ ch chan struct{} }

func (h *retrySignal) Enabled(context.Context, slog.Level) bool { return true }
func (h *retrySignal) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *retrySignal) WithGroup(string) slog.Handler            { return h }
func (h *retrySignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "agents: retrying request" {
		h.ch <- struct{}{}
	}
	return nil
}

func TestHoldRefusedPastDeadline(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(0), agents.WithAdaptivePacing(false))
	srv.Script(fakeapi.Status(429, "30"))
	c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if !errors.Is(err, agents.ErrRateLimitExceeded) || !errors.As(err, &apiErr) || apiErr.RetryAfter < 25*time.Second {
		t.Fatalf("err = %v; want ErrRateLimitExceeded with the hold's remaining RetryAfter", err)
	}
	if time.Since(start) > time.Second || len(srv.Requests()) != 1 { // the hold has 30s left
		t.Errorf("the held call waited or sent a request")
	}
}

func TestWithRateLimitPaces(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithRateLimit(40, 2))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	reqs := srv.Requests()
	// 40 requests at 40/s with a burst of 2 cannot span less than 38/40 s.
	if span := reqs[len(reqs)-1].Time.Sub(reqs[0].Time); span < 900*time.Millisecond {
		t.Errorf("40 requests took %v; WithRateLimit(40, 2) allows no less than 950ms", span)
	}
}

func TestRateLimitWaitPastDeadline(t *testing.T) {
	t.Parallel()
	_, c := setup(t, agents.WithRateLimit(0.5, 1))
	c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "agents: client-side rate limit") {
		t.Fatalf("err = %v; want the rate limit's refusal, matching context.DeadlineExceeded", err)
	}
}

func TestGiveUpKeepsConnectionPool(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithMaxRetries(1))
	get := func() error {
		_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	srv.Script(fakeapi.Status(503, ""), fakeapi.Status(503, "")) // give up
	if get() == nil {
		t.Fatal("want the 503")
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv.Script(fakeapi.Status(503, "5"))
	time.AfterFunc(20*time.Millisecond, cancel) // cancel during a wait
	c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
	if err := get(); err != nil {
		t.Fatal(err)
	}
	if n := srv.Stats().Conns; n != 1 {
		t.Errorf("the server saw %d connections; giving up or cancelling emptied the pool", n)
	}
}

func TestRetryLogging(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, c := setup(t, agents.WithLogger(logger))
	srv.Script(fakeapi.Status(503, "0"), fakeapi.Status(500, ""))
	if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	type line struct {
		Level     string
		Msg       string
		Attempt   int
		Status    int
		RequestID string `json:"request_id"`
	}
	var got []line
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	want := []line{
		{Level: "DEBUG", Msg: "agents: retrying request", Attempt: 1, Status: 503, RequestID: "req_000001"},
		{Level: "DEBUG", Msg: "agents: retrying request", Attempt: 2, Status: 500, RequestID: "req_000002"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

// TestAdaptiveGoodput plays the retries issue's scenario for a few
// seconds over loopback. It is not parallel, so that other tests do not
// starve it of CPU. The floor is far under the 80% that the 20-second
// benchmark shows (start-up weighs much more in 6 seconds, and a loaded CI
// machine under -race is slow); it still fails if pacing is broken, as
// unpaced retries reach about 10%.
func TestAdaptiveGoodput(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a 5-second load scenario")
	}
	cfg := scenario.Standard
	cfg.Duration = 6 * time.Second
	res, err := scenario.RunGoodput(cfg, scenario.SDK)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Ratio() < 0.25 || res.Failed > 0 {
		t.Errorf("goodput: %v; want at least 25%% of the limit and no failed call", res)
	}
	if res.Throttled > 40 {
		t.Errorf("%d 429s in 6 seconds; pacing should stop them after the first few", res.Throttled)
	}
}

// TestHoldAppliesToQueuedCallers: callers already waiting for a pacing
// slot when a 429 with Retry-After arrives must not send into the hold
// when their slot comes.
func TestHoldAppliesToQueuedCallers(t *testing.T) {
	t.Parallel()
	// 10/s: the second caller's slot comes 100ms after the first, ample
	// time for the 429 to come back and set the hold, even under -race.
	srv, c := setup(t, agents.WithRateLimit(10, 1), agents.WithAdaptivePacing(false))
	srv.Script(fakeapi.Status(429, "1"))
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	reqs := srv.Requests()
	if reqs[0].Status != 429 {
		t.Fatalf("first request answered %d, want the scripted 429", reqs[0].Status)
	}
	for _, r := range reqs[1:] {
		if gap := r.Time.Sub(reqs[0].Time); gap < time.Second-10*time.Millisecond {
			t.Errorf("a queued caller sent %v after the 429; the hold lasts 1s", gap)
		}
	}
}

func TestRedirectLoopNotRetried(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	self := srv.URL + "/v2/agents/agt_customer_support/sessions"
	for range 30 {
		srv.Script(fakeapi.Fault{Kind: fakeapi.KindRaw, Status: http.StatusFound, Header: http.Header{"Location": {self}}})
	}
	_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") || strings.Contains(err.Error(), "attempts") {
		t.Fatalf("err = %v; want the redirect limit, not retried", err)
	}
	if n := len(srv.Requests()); n != 10 {
		t.Errorf("%d requests; want 10, one chain of redirects and no retry", n)
	}
}

// TestAttemptTimeoutAndDeadline checks the attempt timeout against the
// call's own deadline: it still cuts an attempt when the deadline is
// further away, and when the deadline comes first (the attempt timeout is
// then not armed at all) the error is the context's.
func TestAttemptTimeoutAndDeadline(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name             string
		attempt, timeout time.Duration
		wantPage         bool
	}{
		{name: "deadline after the attempt timeout", attempt: 100 * time.Millisecond, timeout: 20 * time.Second, wantPage: true},
		{name: "deadline before the attempt timeout", attempt: time.Minute, timeout: 100 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithAttemptTimeout(tt.attempt))
			srv.Script(fakeapi.Hang())
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			page, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
			if tt.wantPage {
				if err != nil || len(page.Sessions) == 0 {
					t.Fatalf("err = %v; want the page from the retry after the attempt timed out", err)
				}
				return
			}
			if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "WithAttemptTimeout") {
				t.Fatalf("err = %v, want the context's deadline, not the attempt timeout", err)
			}
		})
	}
}
