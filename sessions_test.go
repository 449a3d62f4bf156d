package agents_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

func TestListSessionsDocsPage(t *testing.T) {
	t.Parallel()
	srv, c := setup(t, agents.WithUserAgent("dashboard/2.1"))
	got, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	// The documentation's example response, field for field.
	want := &agents.SessionPage{
		Sessions: []agents.Session{
			{
				ID: "ase_customer_support_001", AgentKey: "agt_customer_support",
				Description: "Customer support session for billing inquiry",
				Metadata: map[string]string{
					"customer_id": "customer_12345", "priority": "high",
					"channel": "web_chat", "issue_category": "billing",
				},
				Enabled: true, CreatedAt: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
			},
			{
				ID: "ase_customer_support_002", AgentKey: "agt_customer_support",
				Description: "Technical support session for software configuration",
				Metadata: map[string]string{
					"customer_id": "customer_67890", "priority": "medium",
					"channel": "email", "issue_category": "technical",
				},
				Enabled: true, CreatedAt: time.Date(2024, 1, 15, 11, 45, 0, 0, time.UTC),
			},
			{
				ID: "ase_customer_support_003", AgentKey: "agt_customer_support",
				Description: "Product inquiry session for enterprise features",
				Metadata: map[string]string{
					"customer_id": "customer_54321", "priority": "low",
					"channel": "phone", "issue_category": "product_inquiry",
				},
				Enabled: false, CreatedAt: time.Date(2024, 1, 15, 9, 15, 0, 0, time.UTC),
			},
		},
		Metadata: agents.PageMetadata{
			// The documentation's own example token.
			PageKey:    "eyJzZXNzaW9uX2lkIjoiYXNlX2N1c3RvbWVyX3N1cHBvcnRfMDAzIn0=",
			TotalCount: 127,
		},
	}
	if diff := cmp.Diff(want, got, ignoreResponse); diff != "" {
		t.Errorf("ListSessions() mismatch (-want +got):\n%s", diff)
	}

	h := srv.Requests()[0].Header
	wantHeaders := map[string]string{
		"Authorization": "Bearer " + fakeapi.DefaultKey,
		"Accept":        "application/json",
		"User-Agent":    "dashboard/2.1 agents-go/" + agents.Version,
	}
	for k, v := range wantHeaders {
		if h.Get(k) != v {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), v)
		}
	}

	next, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 2, PageKey: got.Metadata.PageKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Sessions) != 2 || next.Sessions[0].ID != "ase_customer_support_004" || next.Metadata.PageKey == "" {
		t.Errorf("second page = %+v, want sessions from 004 on and a page key", next)
	}
}

func TestListSessionsQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params agents.ListSessionsParams
		want   url.Values
	}{
		{"zero value sends nothing", agents.ListSessionsParams{}, url.Values{}},
		{"limit", agents.ListSessionsParams{Limit: 100}, url.Values{"limit": {"100"}}},
		{"enabled false", agents.ListSessionsParams{Enabled: ptr(false)}, url.Values{"enabled": {"false"}}},
		{"page key is escaped", agents.ListSessionsParams{Limit: 1, PageKey: fakeapi.EncodeCursor("ase_sales_assistant_0000001"), Enabled: ptr(true)},
			url.Values{"limit": {"1"}, "enabled": {"true"}, "page_key": {fakeapi.EncodeCursor("ase_sales_assistant_0000001")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			if _, err := c.ListSessions(context.Background(), "agt_sales_assistant", tt.params); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, srv.Requests()[0].Query); diff != "" {
				t.Errorf("query mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListSessionsInvalidInputSendsNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		agentKey string
		params   agents.ListSessionsParams
	}{
		{"empty agent key", "", agents.ListSessionsParams{}},
		{"prefix only", "agt_", agents.ListSessionsParams{}},
		{"wrong prefix", "agent_x", agents.ListSessionsParams{}},
		{"path traversal", "agt_../../admin", agents.ListSessionsParams{}},
		{"slash", "agt_a/b", agents.ListSessionsParams{}},
		{"query injection", "agt_a?limit=1000", agents.ListSessionsParams{}},
		{"unicode", "agt_ä", agents.ListSessionsParams{}},
		{"negative limit", "agt_x", agents.ListSessionsParams{Limit: -1}},
		{"limit over 100", "agt_x", agents.ListSessionsParams{Limit: 101}},
	}
	srv, c := setup(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ListSessions(context.Background(), tt.agentKey, tt.params)
			if !errors.Is(err, agents.ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			var apiErr *agents.APIError
			if errors.As(err, &apiErr) {
				t.Errorf("err = %#v is an *APIError; local validation must not be", apiErr)
			}
			if !strings.HasPrefix(err.Error(), "agents: ") {
				t.Errorf("error %q lacks the agents: prefix", err)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server received %d requests, want 0", n)
	}
}

func TestListSessionsErrors(t *testing.T) {
	t.Parallel()
	sentinels := []error{agents.ErrInvalidRequest, agents.ErrUnauthorized, agents.ErrForbidden, agents.ErrAgentNotFound, agents.ErrRateLimitExceeded}
	tests := []struct {
		name   string
		fault  *fakeapi.Fault // nil: a real error from the server's logic
		agent  string
		key    string
		params agents.ListSessionsParams
		want   *agents.APIError // RequestID checked for presence only
		is     error
	}{
		{name: "real 401", agent: "agt_customer_support", key: "wrong-key",
			want: &agents.APIError{StatusCode: 401, Code: "unauthorized", Message: "invalid or missing API key"}, is: agents.ErrUnauthorized},
		{name: "real 403", agent: fakeapi.RestrictedAgent,
			want: &agents.APIError{StatusCode: 403, Code: "forbidden", Message: `this key may not read the sessions of "agt_restricted"`}, is: agents.ErrForbidden},
		{name: "real 404", agent: "agt_nobody",
			want: &agents.APIError{StatusCode: 404, Code: "agent_not_found", Message: `no agent "agt_nobody"`}, is: agents.ErrAgentNotFound},
		{name: "real 400 bad cursor", agent: "agt_customer_support", params: agents.ListSessionsParams{PageKey: "not-a-cursor"},
			want: &agents.APIError{StatusCode: 400, Code: "invalid_request", Message: "page_key is not valid"}, is: agents.ErrInvalidRequest},
		{name: "nested 429 with Retry-After", fault: ptr(rawFault(429, `{"error":{"code":"rate_limit_exceeded","message":"slow down"}}`, "Retry-After", "120")),
			want: &agents.APIError{StatusCode: 429, Code: "rate_limit_exceeded", Message: "slow down", RetryAfter: 120 * time.Second}, is: agents.ErrRateLimitExceeded},
		{name: "flat shape", fault: ptr(fakeapi.Raw(404, "application/json", `{"code":"agent_not_found","message":"gone"}`)),
			want: &agents.APIError{StatusCode: 404, Code: "agent_not_found", Message: "gone"}, is: agents.ErrAgentNotFound},
		{name: "code wins over status", fault: ptr(fakeapi.Raw(400, "application/json", `{"error":{"code":"forbidden","message":"no"}}`)),
			want: &agents.APIError{StatusCode: 400, Code: "forbidden", Message: "no"}, is: agents.ErrForbidden},
		{name: "unknown code falls back to status", fault: ptr(fakeapi.Raw(403, "application/json", `{"error":{"code":"quota_policy","message":"no"}}`)),
			want: &agents.APIError{StatusCode: 403, Code: "quota_policy", Message: "no"}, is: agents.ErrForbidden},
		{name: "error as a string", fault: ptr(fakeapi.Raw(401, "application/json", `{"error":"token expired"}`)),
			want: &agents.APIError{StatusCode: 401, Code: "unauthorized", Message: "token expired"}, is: agents.ErrUnauthorized},
		{name: "HTML from a proxy", fault: ptr(fakeapi.Raw(403, "text/html", "<html><body><h1>403 Forbidden</h1>\n\n<p>nginx</p></body></html>")),
			want: &agents.APIError{StatusCode: 403, Code: "forbidden", Message: "unexpected response body: <html><body><h1>403 Forbidden</h1> <p>nginx</p></body></html>"}, is: agents.ErrForbidden},
		{name: "empty 404 matches nothing", fault: ptr(fakeapi.Raw(404, "", "")),
			want: &agents.APIError{StatusCode: 404, Code: "not_found", Message: "empty response body"}},
		{name: "empty body", fault: ptr(fakeapi.Raw(403, "", "")),
			want: &agents.APIError{StatusCode: 403, Code: "forbidden", Message: "empty response body"}, is: agents.ErrForbidden},
		{name: "truncated JSON", fault: ptr(fakeapi.Raw(400, "application/json", `{"error":{"code":"inval`)),
			want: &agents.APIError{StatusCode: 400, Code: "invalid_request", Message: `unexpected response body: {"error":{"code":"inval`}, is: agents.ErrInvalidRequest},
		{name: "501 is not retried and matches nothing", fault: ptr(fakeapi.Status(501, "")),
			want: &agents.APIError{StatusCode: 501, Code: "error", Message: "injected Not Implemented"}},
		{name: "long HTML is quoted short", fault: ptr(fakeapi.Raw(418, "text/html", strings.Repeat("x", 5000))),
			want: &agents.APIError{StatusCode: 418, Code: "i'm_a_teapot", Message: "unexpected response body: " + strings.Repeat("x", 200) + "…"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithMaxRetries(0))
			if tt.key != "" {
				c = newClient(t, srv, agents.WithAPIKey(tt.key), agents.WithMaxRetries(0))
			}
			if tt.fault != nil {
				srv.Script(*tt.fault)
			}
			agent := tt.agent
			if agent == "" {
				agent = "agt_customer_support"
			}
			_, err := c.ListSessions(context.Background(), agent, tt.params)
			var got *agents.APIError
			if !errors.As(err, &got) {
				t.Fatalf("err = %v (%T), want *APIError", err, err)
			}
			if got.RequestID == "" {
				t.Errorf("RequestID is empty; the server sent X-Request-Id")
			}
			got.RequestID = ""
			if diff := cmp.Diff(tt.want, got, ignoreErrorDetails); diff != "" {
				t.Errorf("APIError mismatch (-want +got):\n%s", diff)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) != (s == tt.is) {
					t.Errorf("errors.Is(err, %v) = %v", s, !(s == tt.is))
				}
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("server received %d requests, want 1", n)
			}
		})
	}
}

func rawFault(status int, body string, header ...string) fakeapi.Fault {
	f := fakeapi.Raw(status, "application/json", body)
	for i := 0; i+1 < len(header); i += 2 {
		f.Header.Set(header[i], header[i+1])
	}
	return f
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *agents.APIError
		want string
	}{
		{&agents.APIError{StatusCode: 404, Code: "agent_not_found", Message: `no agent "agt_x"`, RequestID: "req_123"},
			`agents: 404 agent_not_found: no agent "agt_x" (request req_123)`},
		{&agents.APIError{StatusCode: 429, Code: "rate_limit_exceeded", Message: "slow down", RetryAfter: 2 * time.Second, RequestID: "r"},
			`agents: 429 rate_limit_exceeded: slow down (retry after 2s, request r)`},
		{&agents.APIError{StatusCode: 502, Code: "bad_gateway"}, `agents: 502 bad_gateway`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestListSessionsOddPages(t *testing.T) {
	t.Parallel()
	docsPage := func(metadata string) string {
		return `{"sessions":[{"id":"ase_1","agent_key":"agt_x","metadata":` + metadata +
			`,"enabled":true,"created_at":"2024-01-15T10:30:00Z","extra":{"nested":[1,2]}}],"metadata":{"page_key":null,"total_count":1},"unknown":true}`
	}
	tests := []struct {
		name string
		body string
		want *agents.SessionPage // nil: want an error containing wantErr
		err  string
	}{
		{name: "non-string metadata kept as JSON text",
			body: docsPage(`{"s":"x","n":3,"b":true,"a":["a"],"o":{"k": 1},"z":null,"f":1.50}`),
			want: page1(map[string]string{"s": "x", "n": "3", "b": "true", "a": `["a"]`, "o": `{"k":1}`, "z": "", "f": "1.50"})},
		{name: "null metadata", body: docsPage(`null`), want: page1(nil)},
		{name: "string null value", body: docsPage(`{"z":null}`), want: page1(map[string]string{"z": ""})},
		{name: "empty page key", body: `{"sessions":[],"metadata":{"page_key":"","total_count":0}}`, want: &agents.SessionPage{Sessions: []agents.Session{}}},
		{name: "missing metadata", body: `{"sessions":[]}`, want: &agents.SessionPage{Sessions: []agents.Session{}}},
		{name: "missing sessions", body: `{"metadata":{"total_count":3}}`, err: `no "sessions" list`},
		{name: "null sessions", body: `{"sessions":null}`, err: `no "sessions" list`},
		{name: "not JSON", body: `<html>oops</html>`, err: "not a valid sessions page"},
		{name: "array", body: `[]`, err: "not a valid sessions page"},
		{name: "empty metadata array, as PHP writes {}", body: docsPage(`[]`), want: page1(map[string]string{})},
		{name: "empty metadata object", body: docsPage(`{}`), want: page1(map[string]string{})},
		{name: "total_count as a whole float",
			body: `{"sessions":[],"metadata":{"page_key":null,"total_count":127.0}}`,
			want: &agents.SessionPage{Sessions: []agents.Session{}, Metadata: agents.PageMetadata{TotalCount: 127}}},
		{name: "total_count with an exponent",
			body: `{"sessions":[],"metadata":{"total_count":1.27e2}}`,
			want: &agents.SessionPage{Sessions: []agents.Session{}, Metadata: agents.PageMetadata{TotalCount: 127}}},
		{name: "total_count with a fraction", body: `{"sessions":[],"metadata":{"total_count":127.5}}`,
			err: "not a valid sessions page: metadata.total_count: 127.5 is not a whole number"},
		{name: "metadata a non-empty array", body: docsPage(`["a"]`), err: `session 0 (id "ase_1"): metadata: want an object`},
		{name: "bad created_at", body: `{"sessions":[{"id":"a","created_at":"2024-01-15T10:30:00Z"},{"id":"b","created_at":"yesterday"}]}`,
			err: `not a valid sessions page: session 1 (id "b"): created_at: "yesterday" is not an RFC 3339 time`},
		{name: "wrong type elsewhere", body: `{"sessions":[{"id":"a","enabled":"yes","metadata":{"n":1}}]}`,
			err: `not a valid sessions page: session 0 (id "a"): enabled: got a JSON string, want bool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			srv.Script(fakeapi.Raw(200, "application/json", tt.body))
			got, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				if n := len(srv.Requests()); n != 1 {
					t.Errorf("a complete invalid body was sent %d times, want 1 (no retry)", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreResponse); diff != "" {
				t.Errorf("page mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func page1(md map[string]string) *agents.SessionPage {
	return &agents.SessionPage{
		Sessions: []agents.Session{{ID: "ase_1", AgentKey: "agt_x", Metadata: md, Enabled: true, CreatedAt: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)}},
		Metadata: agents.PageMetadata{TotalCount: 1},
	}
}

func TestListSessionsBodyTooLarge(t *testing.T) {
	t.Parallel()
	big := `{"sessions":[],"pad":"` + strings.Repeat("x", agents.MaxResponseBytes) + `"}`
	tests := []struct {
		name  string
		fault fakeapi.Fault
	}{
		// Chunked: the client cannot know the size up front and must stop
		// reading at the cap.
		{"streamed past the cap", fakeapi.Raw(200, "application/json", big)},
		// An announced size over the cap is refused before reading: the
		// body here is short, so reading it would end in a cut-off body
		// and retries instead.
		{"announced over the cap", rawFault(200, `{"sessions":[]}`, "Content-Length", fmt.Sprint(2*agents.MaxResponseBytes))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			srv.Script(tt.fault)
			_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			if err == nil || !strings.Contains(err.Error(), "exceeds the 10 MiB limit") {
				t.Errorf("err = %v, want the size limit", err)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("oversized body fetched %d times, want 1", n)
			}
		})
	}
}

func TestRedirectDoesNotCarryKey(t *testing.T) {
	t.Parallel()
	// Two loopback servers: the API, which redirects, and another that
	// records what it receives, reached by another port of the same host
	// (which net/http alone would give the key) or by another host name.
	for _, host := range []string{"127.0.0.1", "localhost"} {
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			other, _ := setup(t)
			api, c := setup(t)
			target := strings.Replace(other.URL, "127.0.0.1", host, 1) + "/v2/agents/agt_customer_support/sessions"
			api.Script(fakeapi.Fault{Kind: fakeapi.KindRaw, Status: http.StatusTemporaryRedirect,
				Header: http.Header{"Location": {target}}})
			_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
			if !errors.Is(err, agents.ErrUnauthorized) {
				t.Errorf("err = %v, want the other server's 401 (it never saw the key)", err)
			}
			reqs := other.Requests()
			if len(reqs) != 1 {
				t.Fatalf("other server got %d requests, want 1", len(reqs))
			}
			if h := reqs[0].Header.Get("Authorization"); h != "" {
				t.Errorf("redirect to %s carried Authorization %q", target, h)
			}
		})
	}
}
