package agents

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-cleanhttp"
)

// attemptTransport is the RoundTripper go-retryablehttp's client sends
// one call's attempts through: it runs each attempt past the Client's pacer
// (shared pause, pacing), bounds it with the call's attempt timeout, sends
// it with the caller's *http.Client, and keeps the call's count of
// attempts and time waited.
//
// go-retryablehttp calls CloseIdleConnections on its HTTP client when it
// gives up or a context is cancelled. Passing the caller's client to it
// would empty the connection pool under every other goroutine; this type
// deliberately has no CloseIdleConnections, so those calls do nothing.
type attemptTransport call

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	cl := (*call)(t)
	areq, err := cl.admit(req)
	if err != nil {
		return nil, err
	}
	// Sent as directTransport says, with no frame of its own between.
	var resp *http.Response
	if rt := cl.c.directTransport(); rt == nil {
		resp, err = cl.c.hc.Do(areq)
	} else if resp, err = rt.RoundTrip(areq); !passes(resp, err) {
		resp, err = cl.c.handOver(areq, rt, resp, err)
	}
	return cl.settle(req, resp, err)
}

// attempt is what RoundTrip keeps of the attempt under way between admit
// and settle. It lives in the pooled call rather than in RoundTrip's
// frame, which stays small: a goroutine spends the attempt parked below
// that frame, and every GC walks it.
type attempt struct {
	tk     ticket
	told   func(Answer)
	actx   context.Context // the attempt's context: the call's, or one with the attempt timeout
	cancel context.CancelFunc
	shared *sharedBound // the bound actx shares with other attempts, to release once; nil if none
	start  time.Time
	// body wraps the attempt's response body. A call has one attempt
	// at a time, and each attempt's body is closed before the next
	// attempt and before the call ends, so one per call serves them all.
	body attemptBody
}

// admit runs an attempt past the pacer and the hooks and arms its
// timeout; it returns the request to send, or why none is sent.
func (cl *call) admit(req *http.Request) (*http.Request, error) {
	c, timeout := cl.c, cl.opts.attemptTimeout
	ctx := req.Context()
	start := time.Now()
	var err error
	at := &cl.at
	at.tk, at.told = ticket{}, nil
	if c.pace != nil {
		at.told, err = c.pace.Wait(ctx)
		switch {
		case err == nil && at.told == nil:
			at.told = func(Answer) {}
		case err != nil:
			err = paceRefusal(ctx, err)
		}
	} else {
		at.tk, err = c.pacer.wait(ctx)
	}
	waited := time.Since(start)
	cl.waited += waited
	if err != nil {
		cl.refused = true
		return nil, &ownError{err}
	}
	cl.attempts++
	cl.sent(req, waited)
	at.actx, at.cancel, at.shared = ctx, context.CancelFunc(noop), nil
	at.start = time.Now()
	if timeout > 0 && !deadlineWithin(ctx, timeout) {
		if timeout == c.bounds.timeout {
			at.actx, at.cancel, at.shared = c.bounds.bound(ctx, at.start)
		} else {
			at.actx, at.cancel = context.WithTimeoutCause(ctx, timeout, errAttemptTimeout)
		}
		req = req.WithContext(at.actx)
	}
	return req, nil
}

// settle tells the pacer and the hooks how an attempt ended, and hands
// its response on with a body that keeps the attempt's timeout.
func (cl *call) settle(req *http.Request, resp *http.Response, err error) (*http.Response, error) {
	c, at := cl.c, &cl.at
	if err != nil {
		// Before any user code (a Pacer's report, the hooks) runs: a
		// panic there must not leave a shared bound listening.
		at.cancel()
		if at.shared != nil {
			at.shared.release()
		}
	}
	switch {
	case at.told != nil:
		at.told(answerOf(at.start, time.Now(), resp))
	case resp != nil:
		c.pacer.done(at.tk, resp.StatusCode, resp.Header)
	default:
		c.pacer.done(at.tk, 0, nil)
	}
	ctx, timeout := req.Context(), cl.opts.attemptTimeout
	if err != nil {
		if terr := c.timedOut(ctx, at.actx, err, timeout); terr != nil {
			err = &ownError{terr}
		}
		cl.answered(nil, err, time.Since(at.start))
		return nil, err
	}
	cl.answered(resp, nil, time.Since(at.start))
	// The attempt's deadline must also cover reading the body, so it is
	// released only when the body is closed.
	at.body = attemptBody{ReadCloser: resp.Body, c: c, ctx: ctx, actx: at.actx, cancel: at.cancel, shared: at.shared, timeout: timeout}
	resp.Body = &at.body
	return resp, nil
}

func noop() {}

// deadlineWithin reports whether ctx ends within d, when an attempt
// timeout of d could not fire first and is not set: when the call's own
// deadline comes first the error is the context's either way (see
// timedOut).
func deadlineWithin(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) <= d
}

// ownError marks an error that RoundTrip made itself (a refusal from the
// pacer, a timeout) rather than got from the caller's client, so that tidy
// can take it out of the *url.Error that net/http puts around it.
type ownError struct{ err error }

func (e *ownError) Error() string { return e.err.Error() }
func (e *ownError) Unwrap() error { return e.err }

// errAttemptTimeout is the cause of an attempt's context that ran out of
// WithAttemptTimeout, telling it apart from the call's own deadline and
// from the caller's http.Client.Timeout.
var errAttemptTimeout = errors.New("agents: attempt timeout")

// timedOut names the limit that cut an attempt off: WithAttemptTimeout,
// or the Timeout of the caller's *http.Client, both of which are retried
// like a dropped connection. It returns nil when neither did: when the
// call's context ended, its error is the caller's to see as it is.
func (c *Client) timedOut(ctx, actx context.Context, err error, timeout time.Duration) error {
	if ctx.Err() != nil {
		return nil
	}
	if context.Cause(actx) == errAttemptTimeout {
		return &attemptTimeoutError{d: timeout}
	}
	var ne net.Error
	if c.hc.Timeout > 0 && errors.As(err, &ne) && ne.Timeout() {
		return &attemptTimeoutError{d: c.hc.Timeout, byClient: true}
	}
	return nil
}

// attemptTimeoutError reports an attempt cut off by WithAttemptTimeout or
// by the caller's http.Client.Timeout; it is retried like a dropped
// connection.
type attemptTimeoutError struct {
	d        time.Duration
	byClient bool // the caller's http.Client.Timeout, not WithAttemptTimeout
}

// Timeout reports true, as a net.Error's does, so that code testing
// errors for a timeout by method finds this one.
func (e *attemptTimeoutError) Timeout() bool { return true }

// ErrorType names the failure for telemetry; see readError.ErrorType.
func (e *attemptTimeoutError) ErrorType() string { return "timeout" }

func (e *attemptTimeoutError) Error() string {
	if e.byClient {
		return "agents: attempt timed out after " + e.d.String() + " (the Timeout of the *http.Client given to WithHTTPClient)"
	}
	return "agents: attempt timed out after " + e.d.String() + " (WithAttemptTimeout)"
}

// maxDrain is how much of an unread body is read and thrown away before
// it is closed, so that the connection can carry the next request: a
// CDN's error page of a few hundred KiB is cheaper to read than a new TCP
// and TLS handshake. A larger remainder is cut off with the connection.
const maxDrain = 256 << 10

// attemptBody names a timeout met while reading the body as timedOut
// does, drains what is left when it is closed, and then ends the attempt.
type attemptBody struct {
	io.ReadCloser
	c         *Client
	ctx, actx context.Context // the call's, and the attempt's within it
	cancel    context.CancelFunc
	shared    *sharedBound  // released on the first Close; see attempt.shared
	timeout   time.Duration // the attempt's WithAttemptTimeout or WithCallAttemptTimeout
	// eof is set once the body has been read to its end, when there is
	// nothing left to drain; a page read whole, the usual case, then
	// closes without the drain's allocations.
	eof bool
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	if err != nil && err != io.EOF {
		if terr := b.c.timedOut(b.ctx, b.actx, err, b.timeout); terr != nil {
			err = terr
		}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	if !b.eof {
		io.CopyN(io.Discard, b.ReadCloser, maxDrain)
		b.eof = true // a second Close has nothing left to drain either
	}
	err := b.ReadCloser.Close()
	b.cancel()
	if b.shared != nil {
		b.shared.release()
		b.shared = nil // a second Close must not count the attempt out twice
	}
	return err
}

// idleConnsPerHost is how many idle connections the SDK's own transport
// keeps to the API. net/http keeps 2 per host, a default made for clients
// that talk to many hosts; a Client talks to one, often from many
// goroutines, and with 2 every call beyond the second that ends at the
// same time closes its connection, so that the next call opens a new one
// (a TCP and TLS handshake, and a socket left in TIME_WAIT). 100 is
// net/http's own limit on idle connections to all hosts together.
const idleConnsPerHost = 100

// ownTransport returns a transport of the SDK's own, so that settings
// another package makes on http.DefaultTransport later do not change how
// the SDK connects: a clone of it when it is an *http.Transport, else
// (httpmock, APM agents and the like replace it with a wrapper) a fresh
// pooled transport with net/http's defaults. Either way it keeps
// idleConnsPerHost idle connections to the API.
func ownTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		t = t.Clone()
	} else {
		t = cleanhttp.DefaultPooledTransport()
	}
	if t.MaxIdleConns != 0 { // 0 is no limit
		t.MaxIdleConns = max(t.MaxIdleConns, idleConnsPerHost)
	}
	t.MaxIdleConnsPerHost = idleConnsPerHost
	return t
}

// withRedirectRule returns a shallow copy of hc (or a fresh pooled client)
// whose redirects never carry the Authorization header to another scheme,
// host or port. net/http itself only drops it for another host name, so a
// redirect to a different port on the same host would otherwise receive
// the key.
func withRedirectRule(hc *http.Client) *http.Client {
	var out http.Client
	if hc != nil {
		out = *hc
	} else {
		out = http.Client{Transport: ownTransport()}
	}
	next := out.CheckRedirect
	out.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
			req.Header.Del("Authorization")
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &out
}
