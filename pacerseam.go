package agents

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// A Pacer decides when each request of a Client may be sent, and hears how
// each one was answered. Every attempt, retries included, passes Wait
// before it is sent.
//
// The Client has a built-in Pacer: the Client-wide hold after a 429 with
// Retry-After, adaptive pacing and [WithRateLimit]. [WithPacer] puts
// another in front of it, such as one that shares a limit between
// processes (the agentsredis module), which may hand requests to the
// built-in one, for instance when its shared store cannot be reached.
//
// A Pacer is used by every goroutine of the Client at once, and must be
// safe for concurrent use.
type Pacer interface {
	// Wait returns when a request may be sent, with the function the
	// Client then calls exactly once with the request's [Answer].
	//
	// Wait must return at once with an error, and the request is not
	// sent, when ctx ends first, or when the wait would end after ctx's
	// deadline: the call then ends with that error (after the server's
	// last answer, when this was a retry). The Client does not bound Wait
	// itself: these promises of its contract hold only as far as Wait
	// keeps them. An error that is the limit's doing should match
	// [ErrRateLimitExceeded], and may be an *APIError with its RetryAfter
	// set, as the built-in Pacer's hold returns.
	//
	// A Pacer that got done from another Pacer's Wait (local, in
	// [WithPacer]) must call it exactly once too, with an Answer whose
	// StatusCode is 0 when it then does not let the request go: the
	// built-in Pacer counts requests in flight until done, and paces by
	// that count once it has learnt a concurrency limit, so a dropped
	// done holds back every later request.
	Wait(ctx context.Context) (done func(Answer), err error)
}

// Answer is how a request that a [Pacer] let go was answered. The rate-limit
// fields are the Client's reading of the response's headers, the same
// reading the built-in Pacer paces by.
type Answer struct {
	// Sent is when the request was sent, Received when its response
	// headers came or the attempt failed.
	Sent, Received time.Time
	// StatusCode is the response's status; 0 when the attempt failed
	// without a response.
	StatusCode int
	// Header is the response's header, nil without a response. It is the
	// response's own: read it, do not keep or change it.
	Header http.Header
	// RetryAfter is the wait the server asked for on a 429 or 503
	// (Retry-After, Retry-After-Ms), read leniently and corrected for the
	// server's clock; 0 when it named none.
	RetryAfter time.Duration
	// Limit is the server's limit, Limit requests per Window, Remaining
	// how many of them are left, and Reset the time until the window
	// resets, from X-RateLimit-* or the IETF RateLimit fields. Limit and
	// Reset are 0, and Remaining is -1, when the response did not state
	// them; Window is 0 unless a policy named it (X-RateLimit-* never
	// does: the longest Reset seen is then the best guess at it).
	Limit     int
	Window    time.Duration
	Remaining int
	Reset     time.Duration
}

// WithPacer puts the Pacer that wrap returns in front of the Client's
// built-in one, which wrap is given as local: every attempt waits in the
// returned Pacer, which decides whether to pass it on to local. Without
// WithPacer, the built-in Pacer alone paces the Client.
//
// A Pacer's error ends the call without a retry. That a wait ends with
// the context, or fails at once when it would outlast the deadline, is up
// to the Pacer's Wait: the Client calls it on the call's goroutine and
// cannot end it.
//
// [Client.PacingStats] and the OnHold and OnPacing hooks describe the
// built-in Pacer, so they see only the requests handed to local.
func WithPacer(wrap func(local Pacer) Pacer) Option {
	return func(c *config) { c.wrapPacer = wrap }
}

// builtin is the Client's own pacer seen as a Pacer, for a wrapper.
type builtin struct{ p *pacer }

func (b builtin) Wait(ctx context.Context) (func(Answer), error) {
	t, err := b.p.wait(ctx)
	if err != nil {
		return nil, err
	}
	return func(a Answer) { b.p.done(t, a.StatusCode, a.Header) }, nil
}

// paceRefusal words a WithPacer Pacer's refusal as the package's own: a
// context that ended is reported as the built-in pacer reports it, and
// any other error gets the package's prefix if it lacks it.
func paceRefusal(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if strings.HasPrefix(err.Error(), "agents: ") {
		return err
	}
	return fmt.Errorf("agents: pacer: %w", err)
}

// answerOf is what the Client tells a wrapping Pacer about resp.
func answerOf(sent, recv time.Time, resp *http.Response) Answer {
	a := Answer{Sent: sent, Received: recv, Remaining: -1}
	if resp == nil {
		return a
	}
	a.StatusCode, a.Header = resp.StatusCode, resp.Header
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		a.RetryAfter, _ = retryAfter(resp.Header, recv)
	}
	if hasQuotaHeaders(resp.Header) {
		if q, ok := parseQuota(resp.Header, recv); ok {
			a.Limit, a.Window, a.Remaining, a.Reset = q.limit, q.window, q.remaining, q.reset
		}
	}
	return a
}
