package agents

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// call is one ListSessions call across its attempts. The go-retryablehttp
// client is per call, because its hooks (CheckRetry, Backoff) are not
// handed the request's context and the decision to wait must be made once,
// with the deadline in view, and then carried out as decided. Calls are
// pooled with their clients and hooks bound, so that a call allocates
// none of them; only callState and at are per call.
type call struct {
	callState
	// at is the attempt under way; it is zeroed with callState, but
	// kept out of it so that fetch does not build it on its stack.
	at attempt
	// hc sends the call's attempts through attemptTransport, and rc
	// drives them; both point back at this call.
	hc     http.Client
	rc     retryablehttp.Client
	handle retryablehttp.ResponseHandlerFunc
}

// callState is what one call knows; it is zeroed when the call goes back
// to the pool, so that no context, page or Client is kept alive there.
type callState struct {
	c       *Client
	ctx     context.Context
	opts    callOptions
	retries int           // retries scheduled so far
	wait    time.Duration // the wait CheckRetry decided on, for Backoff
	status  int           // of the attempt being retried, for the log
	reqID   string
	cause   error // of the attempt being retried, when it had no usable response
	page    *SessionPage
	// last is the response retried last, as an *APIError, and refused
	// is set when the Client's hold or pacing would not send an attempt:
	// a call that ends so still owes its caller the server's answer.
	last    *APIError
	refused bool

	attempts int           // attempts sent so far
	waited   time.Duration // retry waits, holds and pacing so far
	// For the error when the context ends: what was tried, where, and
	// for how long, which "context deadline exceeded" alone does not say.
	host  string
	start time.Time
}

var callPool = sync.Pool{New: func() any { return newCall() }}

func newCall() *call {
	cl := new(call)
	cl.hc = http.Client{
		Transport: (*attemptTransport)(cl),
		// The caller's client has followed (or refused) redirects already.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	cl.rc = retryablehttp.Client{
		HTTPClient:   &cl.hc,
		Logger:       nil, // logging is ours, through slog; see call.backoff
		CheckRetry:   cl.checkRetry,
		Backoff:      cl.backoff,
		ErrorHandler: cl.giveUp,
	}
	cl.handle = cl.handleResponse
	return cl
}

func (c *Client) fetch(ctx context.Context, agentKey, rawURL string, o callOptions) (page *SessionPage, err error) {
	req, err := c.newRequest(ctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("agents: building request: %w", err)
	}
	if c.hooks.OnCall != nil {
		ctx = c.begin(ctx, agentKey, rawURL)
		req = req.WithContext(ctx)
	}
	// The three headers every request carries share one allocation; each
	// value gets a slice of its own capacity, so an append to one cannot
	// reach the next.
	vals := make([]string, 3)
	vals[0], vals[1], vals[2] = c.auth(), "application/json", c.userAgent
	req.Header["Authorization"] = vals[0:1:1]
	req.Header["Accept"] = vals[1:2:2]
	req.Header["User-Agent"] = vals[2:3:3]
	for k, v := range o.header {
		req.Header[k] = v
	}

	cl := callPool.Get().(*call)
	defer cl.release()
	cl.callState = callState{c: c, ctx: ctx, opts: o, host: req.URL.Host, start: time.Now()}
	req.SetResponseHandler(cl.handle)
	cl.rc.RetryMax, cl.rc.RetryWaitMin, cl.rc.RetryWaitMax = o.maxRetries, c.backoffMin, c.backoffMax
	resp, err := cl.rc.Do(req)
	if c.hooks.OnCallDone != nil {
		defer func() { cl.ended(resp, err) }()
	}
	if err != nil {
		// An *APIError that a caller made the context's cause is theirs,
		// perhaps shared between calls: only the call's own is touched.
		var apiErr *APIError
		if errors.As(err, &apiErr) && !errors.Is(context.Cause(ctx), apiErr) {
			apiErr.Attempts = cl.attempts
		}
		if err == ctx.Err() {
			// go-retryablehttp returns the bare context error when a
			// wait is cancelled; give it the package's prefix.
			return nil, cl.ctxErr()
		}
		return nil, err
	}
	resp.Body.Close()
	cl.page.Response = cl.info(resp)
	return cl.page, nil
}

// release returns the call to the pool, keeping nothing of it but the
// clients and hooks bound to it.
func (cl *call) release() {
	cl.callState = callState{}
	cl.at = attempt{}
	callPool.Put(cl)
}

// handleResponse reads every response that is not retried: a page for
// 2xx, an *APIError for anything else. An error from it goes back to
// checkRetry, which retries a body cut off in transit.
func (cl *call) handleResponse(resp *http.Response) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiErrorFrom(resp, time.Now())
	}
	defer resp.Body.Close()
	framed := resp.ContentLength >= 0 || resp.ProtoMajor >= 2 || slices.Contains(resp.TransferEncoding, "chunked")
	page, err := readPage(resp.Body, resp.ContentLength, framed)
	if err != nil {
		return err
	}
	cl.page = page
	return nil
}

func (cl *call) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		var held *APIError
		if cl.refused && errors.As(err, &held) {
			// The deadline passed while the Client held the call back for
			// an earlier 429 (see pacer.ended).
			return false, &heldError{held: held, ctx: cl.ctxErr()}
		}
		return false, cl.ctxErr()
	}
	if err != nil {
		// A refusal to send (the hold, pacing, a WithPacer Pacer) ends the
		// call whatever its error is.
		if cl.refused || !retryable(err) {
			return false, tidy(err)
		}
		return cl.schedule(nil, err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return cl.schedule(resp, nil)
	}
	return false, nil
}

// schedule decides whether a failed attempt is retried and how long to
// wait first. A wait longer than the Client allows, or one that would end
// after the context's deadline, is not started: the call ends now with the
// error it has (for a response, handle turns it into an *APIError).
func (cl *call) schedule(resp *http.Response, err error) (bool, error) {
	c := cl.c
	if cl.retries >= cl.opts.maxRetries {
		return true, nil // go-retryablehttp stops here and calls giveUp
	}
	wait := backoff(c.backoffMin, c.backoffMax, cl.retries)
	cl.status, cl.reqID, cl.cause = 0, "", err
	if resp != nil {
		cl.status, cl.reqID = resp.StatusCode, clean(resp.Header.Get("X-Request-Id"), 200)
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			wait = d
		}
	}
	if wait > c.maxRetryWait || pastDeadline(cl.ctx, scaled(wait, c.waitScale)) {
		if err != nil {
			return false, tidy(err)
		}
		return false, nil
	}
	cl.wait = scaled(wait, c.waitScale)
	cl.retries++
	c.pacer.retried()
	if resp != nil {
		// Read now: go-retryablehttp drains the body before the retry.
		cl.last = apiErrorFrom(resp, time.Now())
	}
	return true, nil
}

// ctxErr is the error of a call whose context ended: the context's cause,
// with the attempts made, the host and the time spent, so that a hung
// server is told apart from a slow one or a wrong base URL.
func (cl *call) ctxErr() error {
	plural := "s"
	if cl.attempts == 1 {
		plural = ""
	}
	return fmt.Errorf("agents: %w after %d attempt%s to %s in %v", context.Cause(cl.ctx),
		cl.attempts, plural, cl.host, time.Since(cl.start).Round(time.Millisecond))
}

// backoff is exponential with jitter: the n-th retry (from 0) waits a
// random time between min·2ⁿ and min·2ⁿ⁺¹, within [min, max]. The jitter,
// which also applies to the first retry, spreads goroutines that failed
// together, so that they do not all come back in the same millisecond.
func backoff(lo, hi time.Duration, n int) time.Duration {
	ceiling := hi
	if n < 62 && lo <= hi>>(n+1) {
		ceiling = lo << (n + 1)
	}
	floor := max(ceiling/2, lo)
	if floor >= ceiling {
		return ceiling
	}
	return floor + rand.N(ceiling-floor+1)
}

func (cl *call) backoff(_, _ time.Duration, _ int, _ *http.Response) time.Duration {
	cl.retrying()
	cl.c.log.LogAttrs(cl.ctx, slog.LevelDebug, "agents: retrying request",
		slog.Int("attempt", cl.retries), // the attempt that failed, from 1
		slog.Int("status", cl.status),
		slog.Duration("wait", cl.wait),
		slog.String("request_id", cl.reqID),
	)
	return cl.wait
}

// giveUp replaces go-retryablehttp's "giving up after N attempt(s)" with
// the last response as an *APIError, or the last transport error.
func (cl *call) giveUp(resp *http.Response, err error, attempts int) (*http.Response, error) {
	if err == nil && resp != nil {
		err = apiErrorFrom(resp, time.Now())
	} else if resp != nil {
		resp.Body.Close()
	}
	if err == nil {
		err = errors.New("agents: request failed")
	}
	err = tidy(err)
	// A context that ended is the caller's own doing, reported as such
	// wherever the wait was (see fetch), not as the server's answer.
	if cl.refused && cl.last != nil && cl.ctx.Err() == nil {
		err = &refusedRetryError{last: cl.last, why: err}
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) && attempts > 1 {
		err = fmt.Errorf("%w (after %d attempts)", err, attempts)
	}
	if attempts > 1 {
		cl.c.log.LogAttrs(cl.ctx, slog.LevelWarn, "agents: giving up",
			slog.Int("attempts", attempts), slog.String("error", err.Error()))
	}
	return nil, err
}

// refusedRetryError is the error of a call whose retry the Client would
// not send (a hold or a pacing slot too far away): the server's last
// answer, which the contract promises as an *APIError, and why the call
// stopped there, both reachable with errors.Is and errors.As. The last
// answer comes first, so that errors.As finds it before a hold's 429.
type refusedRetryError struct {
	last *APIError
	why  error
}

func (e *refusedRetryError) Error() string {
	return e.last.Error() + "; not retried: " + strings.TrimPrefix(e.why.Error(), "agents: ")
}

func (e *refusedRetryError) Unwrap() []error { return []error{e.last, e.why} }

// heldError is the error of a call whose context ended while the Client
// held it back for an earlier 429: the context's error, and the hold's
// 429, which the caller would have got at once had the deadline left no
// room for the hold.
type heldError struct {
	held *APIError
	ctx  error
}

func (e *heldError) Error() string {
	return e.ctx.Error() + "; held back by " + strings.TrimPrefix(e.held.Error(), "agents: ")
}

func (e *heldError) Unwrap() []error { return []error{e.held, e.ctx} }

// retryable reports whether a transport or body error is worth another
// attempt. A body cut off or an attempt timed out is; the SDK's own
// verdicts (an error response, a body that is complete but not a page, a
// refusal to wait) are final; everything else the transport reports is
// classified by go-retryablehttp's policy, which retries connection and
// protocol failures (refused, reset, EOF, HTTP/2 stream errors) but not
// certificates that do not verify, redirect loops, bad schemes or headers.
func retryable(err error) bool {
	var (
		readErr    *readError
		timeoutErr *attemptTimeoutError
		apiErr     *APIError
		decErr     *decodeError
		paceErr    *paceError
	)
	switch {
	case errors.As(err, &readErr), errors.As(err, &timeoutErr):
		return true
	case errors.As(err, &apiErr), errors.As(err, &decErr), errors.As(err, &paceErr),
		errors.Is(err, errTooLarge), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		unknownHost(err):
		return false
	}
	// The policy looks one *url.Error deep; the caller's client's error
	// sits inside the attempts client's. The call's context was checked
	// by checkRetry already.
	if outer, ok := err.(*url.Error); ok {
		if inner, ok := outer.Err.(*url.Error); ok {
			err = inner
		}
	}
	retry, _ := retryablehttp.DefaultRetryPolicy(context.Background(), nil, err)
	return retry
}

// unknownHost reports a host name the resolver says does not exist: a
// typo in the base URL, which a few seconds of retries will not fix. A
// resolver that timed out or failed for the moment is retried.
func unknownHost(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// tidy takes the SDK's own errors (from the pacer, a timeout) out of the
// *url.Error that the attempts client puts around them, unwraps the one
// it puts around the caller's client's own *url.Error, and gives
// transport errors the package's prefix. It goes by type, never by text.
func tidy(err error) error {
	uerr, ok := err.(*url.Error)
	if !ok {
		return err
	}
	if own, ok := uerr.Err.(*ownError); ok {
		return own.err
	}
	if inner, ok := uerr.Err.(*url.Error); ok {
		return fmt.Errorf("agents: %w", inner)
	}
	return fmt.Errorf("agents: %w", uerr)
}
