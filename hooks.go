package agents

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"time"
)

// Hooks are functions the Client calls as a call makes progress, for
// metrics, tracing and progress displays that would otherwise parse logs.
// Every field is optional; a nil field costs nothing.
//
// Hooks is a struct of functions, as net/http/httptrace.ClientTrace is,
// rather than an interface: an observer sets only the events it cares
// about, and new events can be added later without breaking the
// observers already written. The events of one call carry the call's
// context, so that a tracer can find its span there; the Client-wide
// events (holds, pacing) belong to no one call and carry none.
//
// Hooks are called synchronously, on the goroutine doing the work, and
// may be called concurrently by different calls: they must be safe for
// concurrent use and must not block, since the call (and for OnHold and
// OnPacing, every call on the Client) waits for them to return. Hand the
// event to a channel or a counter and return. The events of one call
// come in order: OnAttempt, OnAttemptDone, then OnRetry before the next
// OnAttempt; a walk's OnPage comes after the attempts of that page. No
// event carries the API key.
type Hooks struct {
	// OnCall is called when a call begins (a ListSessions, or the fetch
	// of one page of a walk), before it waits for anything. The context
	// it returns is the one the call's attempts are sent with and its
	// other events carry, so that a tracer can start the call's span
	// here and find it again in OnAttempt; return the context given to
	// add nothing. Given more than once (see [WithHooks]), each OnCall
	// gets the context the one before it returned.
	OnCall func(context.Context, CallEvent) context.Context
	// OnCallDone is called when the call has ended, with its outcome,
	// on the context OnCall returned.
	OnCallDone func(context.Context, CallDoneEvent)
	// OnAttempt is called when an attempt has passed the Client's hold
	// and pacing and is about to be sent.
	OnAttempt func(context.Context, AttemptEvent)
	// OnAttemptDone is called when an attempt has its response headers,
	// or has failed without a response.
	OnAttemptDone func(context.Context, AttemptDoneEvent)
	// OnRetry is called when a failed attempt will be retried, before
	// the wait.
	OnRetry func(context.Context, RetryEvent)
	// OnHold is called when a 429 with Retry-After makes the whole
	// Client hold back, or extends the hold.
	OnHold func(HoldEvent)
	// OnPacing is called when the Client changes the pace it sends at.
	OnPacing func(PacingEvent)
	// OnPage is called for each page of a walk, just before the walk
	// yields it.
	OnPage func(context.Context, PageEvent)
}

// CallEvent describes a call about to begin.
type CallEvent struct {
	// AgentKey is the agent whose sessions are listed.
	AgentKey string
	// URL is the request URL, query included, as in [AttemptEvent].
	URL string
}

// CallDoneEvent describes how a call ended.
type CallDoneEvent struct {
	// Attempts is how many attempts were sent; 0 when none was (invalid
	// options are refused before OnCall, so this means the Client's hold
	// or pacing, or the context, stopped the call before its first).
	Attempts int
	// StatusCode is the last response's status; 0 when no attempt got a
	// response.
	StatusCode int
	// RequestID is the last response's X-Request-Id, when sent.
	RequestID string
	// Waited is the time spent waiting before attempts, as in
	// [ResponseInfo].
	Waited time.Duration
	// Err is the call's error, as returned to the caller; nil on success.
	Err error
}

// AttemptEvent describes an attempt about to be sent.
type AttemptEvent struct {
	// Attempt counts the call's attempts, from 1.
	Attempt int
	// URL is the request URL, query (limit, page_key, enabled) included.
	// The API key travels in a header and is never part of it.
	URL string
	// Waited is how long this attempt waited for the Client's hold and
	// pacing before it could be sent.
	Waited time.Duration
}

// AttemptDoneEvent describes the outcome of an attempt.
type AttemptDoneEvent struct {
	// Attempt counts the call's attempts, from 1.
	Attempt int
	// StatusCode is the response's status; 0 when Err is set.
	StatusCode int
	// Err is why the attempt got no response (a refused or dropped
	// connection, the attempt timeout); nil when it got one. A body cut
	// off later shows as the reason of an OnRetry, or as the call's
	// error.
	Err error
	// Duration is the time from sending to the response headers or the
	// failure.
	Duration time.Duration
	// RequestID is the X-Request-Id response header, when sent.
	RequestID string
}

// RetryEvent describes a retry about to be waited for.
type RetryEvent struct {
	// Attempt is the attempt that failed, from 1; the next one is
	// Attempt+1.
	Attempt int
	// StatusCode is the status of the failed attempt (429, 503, ...); 0
	// when it failed without a response.
	StatusCode int
	// Err is why the attempt failed when it had no usable response: a
	// dropped connection, a body cut off, an attempt timeout.
	Err error
	// RequestID is the failed response's X-Request-Id, when sent.
	RequestID string
	// Wait is how long the call will wait before the next attempt: the
	// server's Retry-After, or the jittered backoff.
	Wait time.Duration
}

// HoldEvent describes the Client-wide hold after a 429: every call on the
// Client waits until Until before sending.
type HoldEvent struct {
	// Until is when the hold ends.
	Until time.Time
	// Duration is how long the hold is, from when it was set.
	Duration time.Duration
	// RequestID is the X-Request-Id of the 429 that set the hold.
	RequestID string
}

// PacingEvent describes a change of the pace the Client sends at.
type PacingEvent struct {
	// Rate is the pace in requests per second; 0 means unpaced.
	Rate float64
	// Concurrency caps requests in flight; 0 means no cap.
	Concurrency int
	// Limit is the server's limit as its rate-limit headers state it; 0
	// when unknown.
	Limit int
	// Reason says what moved the pace, such as "429" or "probe".
	Reason string
}

// PageEvent describes a page a walk is about to yield.
type PageEvent struct {
	// Page counts the walk's pages, from 1.
	Page int
	// PageKey is the key the page was fetched with; "" for the first
	// page of a walk from the start.
	PageKey string
	// Sessions is how many sessions the page holds.
	Sessions int
	// NextPageKey is the page's Metadata.PageKey: where the walk goes
	// next, or where to resume it; "" on the last page.
	NextPageKey string
	// Response says how the page was fetched.
	Response ResponseInfo
}

// WithHooks makes the Client call h's functions as calls progress; see
// [Hooks]. Given more than once, every set is called, in the order given,
// so that a tracing module and the program's own metrics can both
// observe one Client.
func WithHooks(h Hooks) Option {
	return func(c *config) { c.hooks = c.hooks.and(h) }
}

// and returns hooks that call h's functions after those of the receiver.
func (h Hooks) and(next Hooks) Hooks {
	return Hooks{
		OnCall:        chain(h.OnCall, next.OnCall),
		OnCallDone:    both(h.OnCallDone, next.OnCallDone),
		OnAttempt:     both(h.OnAttempt, next.OnAttempt),
		OnAttemptDone: both(h.OnAttemptDone, next.OnAttemptDone),
		OnRetry:       both(h.OnRetry, next.OnRetry),
		OnHold:        both1(h.OnHold, next.OnHold),
		OnPacing:      both1(h.OnPacing, next.OnPacing),
		OnPage:        both(h.OnPage, next.OnPage),
	}
}

func both[E any](a, b func(context.Context, E)) func(context.Context, E) {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return func(ctx context.Context, e E) { a(ctx, e); b(ctx, e) }
}

func chain[E any](a, b func(context.Context, E) context.Context) func(context.Context, E) context.Context {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return func(ctx context.Context, e E) context.Context { return b(a(ctx, e), e) }
}

func both1[E any](a, b func(E)) func(E) {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return func(e E) { a(e); b(e) }
}

// begin tells the hooks that a call begins, and returns the context its
// attempts go out with.
func (c *Client) begin(ctx context.Context, agentKey, rawURL string) context.Context {
	if hctx := c.hooks.OnCall(ctx, CallEvent{AgentKey: agentKey, URL: rawURL}); hctx != nil {
		return hctx
	}
	return ctx
}

// ended tells the hooks how the call ended.
func (cl *call) ended(resp *http.Response, err error) {
	f := cl.c.hooks.OnCallDone
	if f == nil {
		return
	}
	ev := CallDoneEvent{Attempts: cl.attempts, Waited: cl.waited, Err: err}
	var apiErr *APIError
	switch {
	case resp != nil:
		ev.StatusCode, ev.RequestID = resp.StatusCode, requestID(resp.Header)
	case errors.As(err, &apiErr) && cl.attempts > 0:
		ev.StatusCode, ev.RequestID = apiErr.StatusCode, apiErr.RequestID
	}
	f(cl.ctx, ev)
}

// sent tells the hooks that an attempt is about to go out.
func (cl *call) sent(req *http.Request, waited time.Duration) {
	if f := cl.c.hooks.OnAttempt; f != nil {
		f(cl.ctx, AttemptEvent{Attempt: cl.attempts, URL: req.URL.String(), Waited: waited})
	}
}

// answered tells the hooks how an attempt ended.
func (cl *call) answered(resp *http.Response, err error, took time.Duration) {
	f := cl.c.hooks.OnAttemptDone
	if f == nil {
		return
	}
	ev := AttemptDoneEvent{Attempt: cl.attempts, Duration: took}
	if err != nil {
		ev.Err = tidy(err)
	}
	if resp != nil {
		ev.StatusCode, ev.RequestID = resp.StatusCode, requestID(resp.Header)
	}
	f(cl.ctx, ev)
}

// retrying counts a retry wait into the call's Waited and tells the hooks.
func (cl *call) retrying() {
	cl.waited += cl.wait
	if f := cl.c.hooks.OnRetry; f != nil {
		f(cl.ctx, RetryEvent{Attempt: cl.attempts, StatusCode: cl.status, Err: cl.cause, RequestID: cl.reqID, Wait: cl.wait})
	}
}

// observePages wraps a walk so that OnPage hears of each page it yields.
func (c *Client) observePages(ctx context.Context, key string, pages iter.Seq2[*SessionPage, error]) iter.Seq2[*SessionPage, error] {
	f := c.hooks.OnPage
	if f == nil {
		return pages
	}
	return func(yield func(*SessionPage, error) bool) {
		n := 0
		for page, err := range pages {
			if err == nil {
				n++
				f(ctx, PageEvent{Page: n, PageKey: key, Sessions: len(page.Sessions), NextPageKey: page.Metadata.PageKey, Response: page.Response})
				key = page.Metadata.PageKey
			}
			if !yield(page, err) {
				return
			}
		}
	}
}
