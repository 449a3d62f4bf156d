package agents

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

const docsPage = `{"sessions":[{"id":"ase_customer_support_001","agent_key":"agt_customer_support","description":"Customer support session for billing inquiry","metadata":{"customer_id":"customer_12345","priority":"high"},"enabled":true,"created_at":"2024-01-15T10:30:00Z"}],"metadata":{"page_key":"eyJzZXNzaW9uX2lkIjoiYXNlX2N1c3RvbWVyX3N1cHBvcnRfMDAzIn0=","total_count":127}}`

// FuzzParsePage: any body either decodes into a page that survives a
// round trip through the public types, or fails with an error; it never
// panics.
func FuzzParsePage(f *testing.F) {
	f.Add([]byte(docsPage))
	f.Add([]byte(`{"sessions":[{"id":"a","metadata":{"n":3,"l":["a"],"z":null,"o":{"k":[1,{"x":null}]}}}],"metadata":{"page_key":null}}`))
	f.Add([]byte(`{"sessions":[],"metadata":{}}`))
	f.Add([]byte(`{"sessions":null}`))
	f.Add([]byte(`{"sessions":[{"created_at":"yesterday"}]}`))
	f.Add([]byte(`<html>502</html>`))
	f.Add([]byte(docsPage[:len(docsPage)/2]))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		page, err := parsePage(data)
		if err != nil {
			if page != nil {
				t.Fatalf("both a page and an error: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "agents: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		if page.Sessions == nil {
			t.Fatal("a page without a sessions slice")
		}
		// What was decoded encodes and decodes to the same page: no
		// value the decoder produced is one it cannot read back.
		b, err := json.Marshal(page)
		if err != nil {
			t.Fatalf("re-encoding a decoded page: %v", err)
		}
		again, err := parsePage(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if len(again.Sessions) != len(page.Sessions) || again.Metadata != page.Metadata {
			t.Fatalf("round trip changed the page: %+v -> %+v", page, again)
		}
	})
}

// FuzzParseErrorBody: any status and body make an *APIError with a code,
// and text that is safe to log.
func FuzzParseErrorBody(f *testing.F) {
	f.Add(404, []byte(`{"error":{"code":"agent_not_found","message":"no agent"}}`))
	f.Add(400, []byte(`{"code":"invalid_request","message":"bad limit"}`))
	f.Add(401, []byte(`{"error":"expired"}`))
	f.Add(429, []byte(`{"error":{"code":3,"message":["x"]}}`))
	f.Add(502, []byte("<html>\r\n<h1>Bad Gateway</h1>\x00\x1b[31m</html>"))
	f.Add(503, []byte{})
	f.Add(599, []byte(`{"error":{"code":"rate_limit_exceeded"`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseErrorBody(status, body)
		if e == nil || e.Code == "" || e.StatusCode != status {
			t.Fatalf("parseErrorBody(%d, %q) = %+v", status, body, e)
		}
		for _, s := range []string{e.Code, e.Message, e.Error()} {
			if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
				t.Fatalf("unsafe text %q", s)
			}
		}
		if len(e.Message) > maxMessage+len("unexpected response body: ")+len("…") {
			t.Fatalf("message of %d bytes", len(e.Message))
		}
		e.Is(ErrForbidden) // must not panic for any code and status
	})
}

// FuzzParseRetryAfter: never panics, never a negative wait, and any
// delta-seconds value parses as itself.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Sat, 28 Nov 2026 12:00:30 GMT", "Saturday, 28-Nov-26 12:01:00 GMT",
		"Sat Nov 28 12:00:05 2026", "-1", "1.5", "99999999999999999999999", " 7 ", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || !ok && d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, %v", s, d, ok)
		}
		if trimmed := strings.TrimSpace(s); isDecimal(trimmed) && len(trimmed) < 10 && !ok {
			t.Fatalf("delta-seconds %q did not parse", s)
		}
	})
}

// FuzzParseQuota: whatever rate-limit headers a server or proxy sends,
// parsing never panics and yields no negative limit, window or reset.
func FuzzParseQuota(f *testing.F) {
	f.Add("50", "0", "1764417600", "", "", "", "")
	f.Add("100, 100;w=60", "99", "30", "", "", "", "Sat, 28 Nov 2026 12:00:00 GMT")
	f.Add("", "", "Sat, 28 Nov 2026 12:00:01 UTC", "", "", "1500", "")
	f.Add("", "", "", `"default";r=3;t=1`, `"default";q=50;w=1, "day";q=1000;w=86400`, "", "")
	f.Add("", "", "", "limit=50, remaining=-3, reset=9999999999999", "50;w=0", "-1", "garbage")
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, limit, remaining, reset, ietf, policy, ms, date string) {
		h := http.Header{}
		for k, v := range map[string]string{"X-Ratelimit-Limit": limit, "X-Ratelimit-Remaining": remaining,
			"X-Ratelimit-Reset": reset, "Ratelimit": ietf, "Ratelimit-Policy": policy, "Retry-After-Ms": ms,
			"Retry-After": reset, "Date": date} {
			if v != "" {
				h.Set(k, v)
			}
		}
		if d, ok := retryAfter(h, now); d < 0 || !ok && d != 0 {
			t.Fatalf("retryAfter(%v) = %v, %v", h, d, ok)
		}
		q, ok := parseQuota(h, now)
		if q.limit < 0 || q.remaining < -1 || q.window < 0 || q.reset < 0 {
			t.Fatalf("parseQuota(%v) = %+v", h, q)
		}
		if ok != (q.limit > 0 || q.remaining >= 0) {
			t.Fatalf("parseQuota(%v) = %+v, %v", h, q, ok)
		}
	})
}

// FuzzClean: the output is valid UTF-8 with no control characters and
// within the bound, whatever comes in.
func FuzzClean(f *testing.F) {
	f.Add("plain", 10)
	f.Add("a\r\nInjected: header\x00\x7f", 100)
	f.Add(string([]byte{0xff, 0xfe, 'a'}), 2)
	f.Add("日本語のテキスト", 5)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		got, cut := cleanCut(s, max)
		if len(got) > max || !utf8.ValidString(got) || strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("cleanCut(%q, %d) = %q", s, max, got)
		}
		if !cut && len(s) <= max && !bytes.ContainsFunc([]byte(s), func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError }) && got != s {
			t.Fatalf("cleanCut changed clean text %q to %q", s, got)
		}
	})
}
