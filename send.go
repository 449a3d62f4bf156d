package agents

import (
	"fmt"
	"net/http"
)

// directTransport returns the transport that an attempt is sent to
// straight, or nil when it must go through the Client's *http.Client,
// which follows its redirects under the SDK's rule. When that client adds
// nothing to its transport but the redirect rule (no Jar, no Timeout: the
// SDK's own client, and most given to WithHTTPClient), the request goes
// straight to the transport: a second *http.Client.Do under
// go-retryablehttp's would clone the headers again and deepen every
// call's stack, which goroutines pay for in regrowth after each GC
// shrinks them. Whatever the *http.Client would act on (a redirect, an
// error, a malformed answer: whatever passes refuses) is given to it with
// handOver, so that it follows, checks and wraps exactly as it would
// have: the fast path is only ever taken where Do returns the transport's
// response unchanged. attemptTransport.RoundTrip calls the transport
// itself rather than through a helper: one frame less under every
// goroutine parked in an attempt, for each GC to walk.
func (c *Client) directTransport() http.RoundTripper {
	if !c.direct {
		return nil
	}
	if rt := c.hc.Transport; rt != nil {
		return rt
	}
	return http.DefaultTransport // as http.Client does, at the time of the call
}

// passes reports whether hc.Do would return the transport's answer
// unchanged: a response with a body that is no redirect.
func passes(resp *http.Response, err error) bool {
	return err == nil && resp != nil && resp.Body != nil && !redirectStatus(resp.StatusCode)
}

// handOver gives the transport's answer to a copy of hc as its
// transport's first answer, for hc to follow, check or wrap.
func (c *Client) handOver(req *http.Request, rt http.RoundTripper, resp *http.Response, err error) (*http.Response, error) {
	// Named as net/http names them, with the transport's type rather
	// than the replay's.
	switch {
	case err == nil && resp == nil:
		err = fmt.Errorf("http: RoundTripper implementation (%T) returned a nil *Response with a nil error", rt)
	case err == nil && resp.Body == nil && resp.ContentLength > 0 && req.Method != http.MethodHead:
		err = fmt.Errorf("http: RoundTripper implementation (%T) returned a *Response with content length %d but a nil Body", rt, resp.ContentLength)
		resp = nil // else net/http logs that it ignores it
	}
	hc := *c.hc
	hc.Transport = &replay{resp: resp, err: err, next: rt}
	return hc.Do(req)
}

// direct reports whether hc adds nothing to its transport that the
// fast path would skip: a Jar sets and stores cookies on every request
// and a Timeout bounds every one, so either keeps hc.Do in the path.
func direct(hc *http.Client) bool {
	return hc.Jar == nil && hc.Timeout == 0
}

// redirectStatus reports the statuses that http.Client may follow; see
// net/http's redirectBehavior.
func redirectStatus(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// replay answers an *http.Client's first request with what the transport
// already answered, and sends the rest (the redirects it follows) to the
// transport. A client calls its transport one request at a time.
type replay struct {
	resp *http.Response
	err  error
	next http.RoundTripper
	used bool
}

func (r *replay) RoundTrip(req *http.Request) (*http.Response, error) {
	if !r.used {
		r.used = true
		return r.resp, r.err
	}
	return r.next.RoundTrip(req)
}
