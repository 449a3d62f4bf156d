package agents

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-retryablehttp"
)

type ctxKey struct{}

// requestView is everything of a request that net/http, a proxy, a
// caller's transport or the hooks may read.
type requestView struct {
	URL, RequestURI, Redacted, Host, URLHost, EscapedPath string
	Path, RawPath, RawQuery                               string
	Method, Proto                                         string
	ProtoMajor, ProtoMinor                                int
	Header                                                http.Header
	Body, GetBody                                         bool // set or not
	ContentLength                                         int64
	Context                                               any // the caller's value, seen through the context
	Wire                                                  string
}

func viewOf(t *testing.T, r *http.Request) requestView {
	t.Helper()
	var wire bytes.Buffer
	if err := r.Write(&wire); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	u := r.URL
	return requestView{
		URL: u.String(), RequestURI: u.RequestURI(), Redacted: u.Redacted(), Host: r.Host, URLHost: u.Host,
		EscapedPath: u.EscapedPath(), Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery,
		Method: r.Method, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		Header: r.Header, Body: r.Body != nil, GetBody: r.GetBody != nil, ContentLength: r.ContentLength,
		Context: r.Context().Value(ctxKey{}), Wire: wire.String(),
	}
}

// checkAssembled compares the request newRequest assembles for base and p
// with the one parsing the page URL gives, as the Client made it before;
// it reports false when the Client refuses base.
func checkAssembled(t *testing.T, base string, p ListSessionsParams) bool {
	t.Helper()
	c, err := NewClient(WithBaseURL(base), WithAPIKey("k"))
	if err != nil {
		return false
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, base)
	raw := c.pageURL("agt_a-B_9", p)
	want, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		t.Fatalf("the page URL %q does not parse: %v", raw, err)
	}
	got, err := c.newRequest(ctx, raw)
	if err != nil {
		t.Fatalf("newRequest(%q): %v", raw, err)
	}
	if diff := cmp.Diff(viewOf(t, want.Request), viewOf(t, got.Request)); diff != "" {
		t.Errorf("base %q: assembled request differs from the parsed one (-want +got):\n%s", base, diff)
	}
	return true
}

func TestAssembledRequestMatchesParsed(t *testing.T) {
	t.Parallel()
	on := true
	for _, base := range []string{
		"https://api.example.com",
		"https://api.example.com/",
		"https://API.example.com:443/v1/",
		"http://127.0.0.1:8080/api",
		"http://localhost:/api",
		"http://[::1]:9/x",
		"http://[::1]/x",
		"https://[fe80::1%25eth0]/x",
		"https://[fe80::1%25eth0]:8443",
		"https://api.example.com/a%20b/c",
		"https://api.example.com/a%2Fb",
		"https://api.example.com/a b",
		"https://api.example.com/ünï/%C3%BC",
		"https://ünï.example.com/x",
		"https://api.example.com/a;b=c/@:$&+,",
		"https://api.example.com/%7Euser",
		"https://api.example.com/~user",
		"https://api.example.com/../x/./y",
	} {
		for _, p := range []ListSessionsParams{
			{},
			{Limit: 7},
			{Limit: 100, PageKey: "a b&c=d/é%#?", Enabled: &on},
		} {
			if !checkAssembled(t, base, p) {
				t.Errorf("NewClient refused the base URL %q", base)
			}
		}
	}
}

// TestNewRequestNilContext keeps the error net/http gives for a nil
// context, rather than a panic.
func TestNewRequestNilContext(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithBaseURL("https://api.example.com"), WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1012 a nil context is what is tested
	if _, err := c.newRequest(nil, c.pageURL("agt_a", ListSessionsParams{})); err == nil {
		t.Error("a nil context made a request")
	}
}

// TestNewRequestFallsBack checks that a URL with anything after the base
// that is not a plain path is parsed, not assembled.
func TestNewRequestFallsBack(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithBaseURL("https://h/a%2Fb"), WithAPIKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		c.baseURL + "/v2/agents/x%2Fy/sessions",
		c.baseURL + "/v2/agents/x#frag",
		c.baseURL,
		"https://other/v2/agents/a/sessions",
	} {
		want, err := retryablehttp.NewRequestWithContext(context.Background(), http.MethodGet, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.newRequest(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(viewOf(t, want.Request), viewOf(t, got.Request)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", raw, diff)
		}
	}
}

func FuzzAssembledRequest(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:1", "https://h/api", "https://h/a%2Fb", "https://h/a b",
		"https://[fe80::1%25eth0]/x", "http://localhost:/ü", "https://H:443/%7e"} {
		f.Add(s, "key", 5, true)
	}
	f.Fuzz(func(t *testing.T, base, pageKey string, limit int, enabled bool) {
		p := ListSessionsParams{Limit: limit % 101, PageKey: pageKey}
		if enabled {
			p.Enabled = &enabled
		}
		if !checkAssembled(t, base, p) {
			if _, err := parseBaseURL(base); err == nil {
				t.Errorf("parseBaseURL accepts %q but NewClient refuses it", base)
			}
		}
	})
}
