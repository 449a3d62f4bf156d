package agents

import (
	"net/http"
	"strings"
	"time"
)

// A CallOption changes one call of [Client.ListSessions], or every page
// request of one walk ([Client.SessionPages], [Client.AllSessions]),
// without changing the Client. It is opaque so that the set of per-call
// settings can grow without breaking anyone; the zero CallOption does
// nothing.
type CallOption struct {
	apply func(*callOptions)
}

// callOptions is what a call runs with: the Client's settings, overridden
// by the call's options. It is resolved and checked once per call or
// walk, before anything is sent.
type callOptions struct {
	header         http.Header // extra headers; nil when none
	maxRetries     int
	attemptTimeout time.Duration
	err            error // the first bad option
}

// WithHeader adds one request header to every attempt of the call, for a
// tracing id, a tenant tag or a gateway's routing key; given twice with the
// same key, both values are sent. The headers the SDK owns or the
// connection depends on cannot be set this way: Authorization, Host,
// User-Agent, Accept, Accept-Encoding (setting it would turn off the
// transparent decompression the page decoder relies on), and the
// hop-by-hop and framing headers (Connection, Content-Length, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade). A forbidden
// or malformed name, or a value with a control character, fails the call
// before sending with an error matching [ErrInvalidRequest]; the value is
// never quoted in it, since headers often carry tokens.
func WithHeader(key, value string) CallOption {
	return CallOption{func(o *callOptions) {
		name := http.CanonicalHeaderKey(key)
		switch {
		case !validHeaderName(key):
			o.fail(invalidf("WithHeader: %.80q is not a valid header name", key))
		case forbiddenHeader(name):
			o.fail(invalidf("WithHeader: %s cannot be set per call", name))
		case !headerSafe(value) || strings.ContainsAny(value, "\r\n"):
			o.fail(invalidf("WithHeader: the value of %s contains control characters", name))
		default:
			if o.header == nil {
				o.header = make(http.Header, 1)
			}
			o.header[name] = append(o.header[name], value)
		}
	}}
}

// WithCallMaxRetries overrides [WithMaxRetries] for one call or walk: 0
// sends each request once, a larger n lets a call that matters more than
// most try harder. A negative n fails the call before sending.
func WithCallMaxRetries(n int) CallOption {
	return CallOption{func(o *callOptions) {
		if n < 0 {
			o.fail(invalidf("WithCallMaxRetries(%d): must be 0 or more", n))
			return
		}
		o.maxRetries = n
	}}
}

// WithCallAttemptTimeout overrides [WithAttemptTimeout] for one call or
// walk: each attempt, from sending to the last byte of the response, gets
// at most d. 0 leaves attempts bounded by the context alone. A negative d
// fails the call before sending.
func WithCallAttemptTimeout(d time.Duration) CallOption {
	return CallOption{func(o *callOptions) {
		if d < 0 {
			o.fail(invalidf("WithCallAttemptTimeout(%v): must be 0 or more", d))
			return
		}
		o.attemptTimeout = d
	}}
}

func (o *callOptions) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// callOptions resolves opts over the Client's settings. Without options it
// allocates nothing, so that calls that use none pay nothing: applying an
// option moves the settings to the heap, so that is done apart.
func (c *Client) callOptions(opts []CallOption) (callOptions, error) {
	o := callOptions{maxRetries: c.maxRetries, attemptTimeout: c.attemptTimeout}
	if len(opts) == 0 {
		return o, nil
	}
	return applyCallOptions(o, opts)
}

func applyCallOptions(o callOptions, opts []CallOption) (callOptions, error) {
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(&o)
		}
	}
	return o, o.err
}

// forbiddenHeader reports whether a canonical header name is one a caller
// may not set per call.
func forbiddenHeader(name string) bool {
	switch name {
	case "Authorization", "Host", "User-Agent", "Accept", "Accept-Encoding",
		"Connection", "Content-Length", "Keep-Alive", "Proxy-Connection",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// validHeaderName reports whether s is an RFC 9110 token, the only form a
// field name may take.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}
