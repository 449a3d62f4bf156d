package conformance

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agentsapi/agents-go/agentstest"
)

// TestSpecCatchesDrift: the other tests pass only if the validator would
// fail them on a drifted fake or SDK. These exchanges break the spec, each
// in one way, and must be refused.
func TestSpecCatchesDrift(t *testing.T) {
	t.Parallel()
	const base = "http://127.0.0.1:1/api"
	r := router(t, base)
	newReq := func(path, auth string) *http.Request {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return req
	}
	const bearer = "Bearer " + agentstest.DefaultKey
	json := http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_1"}}

	requests := []struct {
		name string
		req  *http.Request
	}{
		{"limit over 100", newReq("/v2/agents/agt_a/sessions?limit=101", bearer)},
		{"limit 0 sent", newReq("/v2/agents/agt_a/sessions?limit=0", bearer)},
		{"empty page_key sent", newReq("/v2/agents/agt_a/sessions?page_key=", bearer)},
		{"enabled not a boolean", newReq("/v2/agents/agt_a/sessions?enabled=yes", bearer)},
		{"agent key off the pattern", newReq("/v2/agents/bot/sessions", bearer)},
		{"no Authorization", newReq("/v2/agents/agt_a/sessions", "")},
		{"not Bearer", newReq("/v2/agents/agt_a/sessions", "Basic "+agentstest.DefaultKey)},
	}
	for _, tt := range requests {
		if err := checkRequest(r, tt.req); err == nil {
			t.Errorf("request with %s: accepted", tt.name)
		}
	}

	responses := []struct {
		name   string
		status int
		header http.Header
		body   string
	}{
		{"metadata null", 200, json, `{"sessions":[{"id":"a","agent_key":"agt_a","description":"","metadata":null,"enabled":true,"created_at":"2024-01-15T10:30:00Z"}],"metadata":{"total_count":1}}`},
		{"created_at not a date-time", 200, json, `{"sessions":[{"id":"a","agent_key":"agt_a","description":"","metadata":{},"enabled":true,"created_at":"yesterday"}],"metadata":{"total_count":1}}`},
		{"a session without enabled", 200, json, `{"sessions":[{"id":"a","agent_key":"agt_a","description":"","metadata":{},"created_at":"2024-01-15T10:30:00Z"}],"metadata":{"total_count":1}}`},
		{"a metadata value not a string", 200, json, `{"sessions":[{"id":"a","agent_key":"agt_a","description":"","metadata":{"n":3},"enabled":true,"created_at":"2024-01-15T10:30:00Z"}],"metadata":{"total_count":1}}`},
		{"no total_count", 200, json, `{"sessions":[],"metadata":{"page_key":null}}`},
		{"sessions null", 200, json, `{"sessions":null,"metadata":{"total_count":0}}`},
		{"a flat error body", 404, json, `{"code":"agent_not_found","message":"no agent"}`},
		{"a 404 with another code", 404, json, `{"error":{"code":"not_found","message":"no route"}}`},
		{"a 429 with a Retry-After in milliseconds", 429, http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1.5"}}, `{"error":{"code":"rate_limit_exceeded","message":"slow down"}}`},
		{"an undocumented status", 418, json, `{"error":{"code":"teapot","message":"no"}}`},
	}
	for _, tt := range responses {
		req := newReq("/v2/agents/agt_a/sessions", bearer)
		if err := checkResponse(r, req, tt.status, tt.header, []byte(tt.body)); err == nil {
			t.Errorf("response with %s: accepted", tt.name)
		}
	}

	// And the docs' own example page, which must pass.
	srv := agentstest.NewServer()
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/agents/agt_customer_support/sessions?limit=3", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", bearer)
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "eyJzZXNzaW9uX2lkIjoiYXNlX2N1c3RvbWVyX3N1cHBvcnRfMDAzIn0=") {
		t.Errorf("the docs' page key is not on the docs' page: %s", body)
	}
	if err := checkResponse(router(t, srv.URL), req, resp.StatusCode, resp.Header, body); err != nil {
		t.Errorf("the docs' example page does not conform: %v", err)
	}
}
