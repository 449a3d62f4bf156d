package agents

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// gate is what every attempt on a Client passes before it is sent: the
// Client-wide hold after a 429 with Retry-After, then the fixed and the
// adaptive rate limiters. It is shared by all goroutines using the Client.
type gate struct {
	maxWait  time.Duration
	fixed    *rate.Limiter // WithRateLimit; nil when not set
	adaptive *adaptive     // nil when off

	mu        sync.Mutex
	holdUntil time.Time
	holdBy    *APIError // the 429 that set holdUntil
}

// maxStagger bounds how far past the end of a hold a waiter may be spread,
// so that a Client's goroutines do not all resume in the same millisecond.
const maxStagger = 250 * time.Millisecond

// wait returns when a request may be sent, and the time it was let
// through, which pacing uses to tell one request from another.
func (g *gate) wait(ctx context.Context) (time.Time, error) {
	// A hold can begin while a caller waits for pacing; it is checked
	// again after, so that no queued request is sent into a 429 window.
	for {
		if err := g.waitHold(ctx); err != nil {
			return time.Time{}, err
		}
		if g.fixed != nil {
			if err := g.fixed.Wait(ctx); err != nil {
				return time.Time{}, limiterError(ctx, err)
			}
		}
		at := time.Now()
		if g.adaptive != nil {
			var err error
			if at, err = g.adaptive.wait(ctx); err != nil {
				return time.Time{}, limiterError(ctx, err)
			}
		}
		if !g.held() {
			return at, nil
		}
	}
}

func (g *gate) held() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return time.Now().Before(g.holdUntil)
}

// waitHold waits out the Client-wide hold, if any, plus a random stagger.
func (g *gate) waitHold(ctx context.Context) error {
	g.mu.Lock()
	until, by := g.holdUntil, g.holdBy
	g.mu.Unlock()
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	if err := g.refuse(ctx, d, by); err != nil {
		return err
	}
	return sleep(ctx, d+rand.N(min(d/10, maxStagger)+1))
}

// refuse returns the 429 that set the hold, with RetryAfter set to what is
// left of it, when the call may not wait that long.
func (g *gate) refuse(ctx context.Context, d time.Duration, by *APIError) error {
	if d <= g.maxWait && !pastDeadline(ctx, d) {
		return nil
	}
	e := *by
	e.RetryAfter = d
	return &e
}

// observe records what a response says about the server's limits.
func (g *gate) observe(resp *http.Response, sent time.Time) {
	if resp.StatusCode != http.StatusTooManyRequests {
		if g.adaptive != nil && resp.StatusCode < 500 {
			g.adaptive.accepted(time.Now(), sent)
		}
		return
	}
	now := time.Now()
	d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now)
	if !ok {
		d = 0
	}
	// The hold is set before pacing hears of the 429, so that requests
	// let through meanwhile are sent after the hold and do not count.
	if d > 0 {
		g.hold(now.Add(d), resp.Header.Get("X-Request-Id"))
	}
	if g.adaptive != nil {
		g.adaptive.throttled(now, sent, now.Add(d))
	}
}

func (g *gate) hold(until time.Time, requestID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until.After(g.holdUntil) {
		g.holdUntil = until
		g.holdBy = &APIError{
			StatusCode: http.StatusTooManyRequests,
			Code:       codeRateLimited,
			Message:    "the client is holding back until the server's Retry-After has passed",
			RequestID:  clean(requestID, 200),
		}
	}
}

func pastDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Now().Add(d).After(deadline)
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("agents: %w", context.Cause(ctx))
	case <-t.C:
		return nil
	}
}

// limiterError turns x/time/rate's "would exceed context deadline", which
// wraps nothing, into an error that errors.Is matches with
// context.DeadlineExceeded.
func limiterError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("agents: %w", context.Cause(ctx))
	}
	return &paceError{err}
}

type paceError struct{ err error }

func (e *paceError) Error() string {
	return "agents: client-side rate limit: waiting for a slot would pass the context's deadline"
}
func (e *paceError) Unwrap() []error { return []error{e.err, context.DeadlineExceeded} }
