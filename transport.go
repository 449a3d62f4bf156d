package agents

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// attemptTransport is the RoundTripper go-retryablehttp's client sends
// one call's attempts through: it runs each attempt past the Client's gate
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
	c, timeout := cl.c, cl.opts.attemptTimeout
	ctx := req.Context()
	start := time.Now()
	sent, err := c.gate.wait(ctx)
	waited := time.Since(start)
	cl.waited += waited
	if err != nil {
		return nil, err
	}
	cl.attempts++
	cl.sent(req, waited)
	start = time.Now()
	if timeout <= 0 {
		resp, err := c.hc.Do(req)
		cl.answered(resp, err, time.Since(start))
		if err == nil {
			c.gate.observe(resp, sent)
		}
		return resp, err
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	resp, err := c.hc.Do(req.WithContext(actx))
	if err != nil {
		cancel()
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = &attemptTimeoutError{timeout}
		}
		cl.answered(nil, err, time.Since(start))
		return nil, err
	}
	cl.answered(resp, nil, time.Since(start))
	c.gate.observe(resp, sent)
	// The attempt's deadline must also cover reading the body, so it is
	// released only when the body is closed.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel, ctx: ctx, timeout: timeout}
	return resp, nil
}

// attemptTimeoutError reports an attempt cut off by WithAttemptTimeout; it
// is retried like a dropped connection.
type attemptTimeoutError struct{ d time.Duration }

func (e *attemptTimeoutError) Error() string {
	return "agents: attempt timed out after " + e.d.String()
}

type cancelOnClose struct {
	io.ReadCloser
	cancel  context.CancelFunc
	ctx     context.Context // the call's, to tell its end from the attempt's
	timeout time.Duration
}

func (b *cancelOnClose) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && b.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = &attemptTimeoutError{b.timeout}
	}
	return n, err
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
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
		// A transport of its own: settings another package makes on
		// http.DefaultTransport must not change how the SDK connects.
		out = http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
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
