package agents

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-retryablehttp"
)

// requestLine is what a request's URL puts on the wire and in hooks.
type requestLine struct {
	URL, RequestURI, Host, URLHost, EscapedPath, Path, RawQuery string
}

func lineOf(r *http.Request) requestLine {
	return requestLine{r.URL.String(), r.URL.RequestURI(), r.Host, r.URL.Host, r.URL.EscapedPath(), r.URL.Path, r.URL.RawQuery}
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
	raw := c.pageURL("agt_a-B_9", p)
	want, err := retryablehttp.NewRequestWithContext(context.Background(), http.MethodGet, raw, nil)
	if err != nil {
		t.Fatalf("the page URL %q does not parse: %v", raw, err)
	}
	got, err := c.newRequest(context.Background(), raw)
	if err != nil {
		t.Fatalf("newRequest(%q): %v", raw, err)
	}
	if diff := cmp.Diff(lineOf(want.Request), lineOf(got.Request)); diff != "" {
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
		"https://api.example.com/a%20b/c",
		"https://api.example.com/a%2Fb",
		"https://api.example.com/a b",
		"https://api.example.com/ünï/%C3%BC",
		"https://api.example.com/a;b=c/@:$&+,",
		"https://api.example.com/%7Euser",
		"https://api.example.com/~user",
	} {
		for _, p := range []ListSessionsParams{
			{},
			{Limit: 7},
			{Limit: 100, PageKey: "a b&c=d/é%", Enabled: &on},
		} {
			if !checkAssembled(t, base, p) {
				t.Errorf("NewClient refused the base URL %q", base)
			}
		}
	}
}

func FuzzAssembledRequest(f *testing.F) {
	for _, s := range []string{"", "/api", "/a%2Fb", "/a b", "/%zz", "/ü"} {
		f.Add(s, "key", 5)
	}
	f.Fuzz(func(t *testing.T, path, pageKey string, limit int) {
		checkAssembled(t, "http://127.0.0.1:1"+path, ListSessionsParams{Limit: limit % 101, PageKey: pageKey})
	})
}
