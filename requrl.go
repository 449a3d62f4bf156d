package agents

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/go-retryablehttp"
)

// baseParts is the base URL taken apart once, so that each request's URL
// is assembled from parts the Client built itself instead of parsed back
// from the string it just wrote: url.Parse was about 2% of a call's CPU
// against a fast server.
type baseParts struct {
	scheme, host string
	path         string // unescaped
	rawPath      string // escaped, when it differs from path; see url.URL
}

// splitBase takes apart base, a URL parseBaseURL returned, as
// http.NewRequest would for a request to it (which, for one, drops an
// empty port).
func splitBase(base string) (baseParts, error) {
	r, err := http.NewRequest(http.MethodGet, base, nil)
	if err != nil {
		return baseParts{}, err
	}
	u := r.URL
	return baseParts{scheme: u.Scheme, host: u.Host, path: u.Path, rawPath: u.RawPath}, nil
}

// newRequest is retryablehttp.NewRequestWithContext for a GET of rawURL,
// which pageURL built from the base URL: its URL is assembled from the
// base's parts, the path after the base (an agent key, which is
// [0-9a-zA-Z_-] only, and fixed segments: nothing to escape) and the
// query pageURL escaped. A URL that does not start with the base, or
// whose path after it is not plain (see plainPath), is parsed as usual,
// and so is a request with a nil context, for net/http's error.
func (c *Client) newRequest(ctx context.Context, rawURL string) (*retryablehttp.Request, error) {
	rest, ok := strings.CutPrefix(rawURL, c.baseURL)
	path, query, _ := strings.Cut(rest, "?")
	if !ok || !plainPath(path) || ctx == nil {
		return retryablehttp.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	}
	b := &c.base
	u := &url.URL{Scheme: b.scheme, Host: b.host, Path: b.path + path, RawQuery: query}
	if b.rawPath != "" {
		u.RawPath = b.rawPath + path
	}
	hreq := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, 4),
		Host:       u.Host,
	}
	req := &retryablehttp.Request{Request: hreq.WithContext(ctx)}
	// As go-retryablehttp's NewRequestWithContext leaves a request without
	// a body: GetBody gives http.NoBody.
	if err := req.SetBody(nil); err != nil {
		return nil, err
	}
	return req, nil
}

// plainPath reports whether p is a non-empty path of [0-9A-Za-z/_-]
// only, which reads the same escaped or not: what pageURL writes after
// the base.
func plainPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		switch b := p[i]; {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '/', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}
