package conformance

import (
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/agentsapi/agents-go/agentstest"
)

// TestFakeResponsesConform sends the fake API requests a client could
// send, good and bad, and validates every answer against openapi.yaml:
// pages of every shape and each documented error.
func TestFakeResponsesConform(t *testing.T) {
	t.Parallel()
	sales := agentstest.Cursor(agentstest.GeneratedSession("agt_sales_assistant", 199).ID)
	tests := []struct {
		name   string
		agent  string
		query  string
		key    string // "" for DefaultKey; "-" for no Authorization at all
		setup  func(*agentstest.Server)
		warm   bool // send once first, to use up a rate limit's burst
		status int
	}{
		{name: "first page, server default", agent: "agt_customer_support", status: 200},
		{name: "the docs' page", agent: "agt_customer_support", query: "limit=3", status: 200},
		{name: "the docs' next page", agent: "agt_customer_support", query: "limit=3&page_key=" + url.QueryEscape(agentstest.Cursor("ase_customer_support_003")), status: 200},
		{name: "enabled only", agent: "agt_customer_support", query: "limit=100&enabled=true", status: 200},
		{name: "disabled only", agent: "agt_customer_support", query: "enabled=false", status: 200},
		{name: "last page: no page key", agent: "agt_sales_assistant", query: "limit=100&page_key=" + url.QueryEscape(sales), status: 200},
		{name: "an agent with no sessions", agent: "agt_empty", status: 200},
		{name: "401 wrong key", agent: "agt_customer_support", key: "sk_wrong", status: 401},
		{name: "401 no key", agent: "agt_customer_support", key: "-", status: 401},
		{name: "403 restricted agent", agent: agentstest.RestrictedAgent, status: 403},
		{name: "404 unknown agent", agent: "agt_no_such_agent", status: 404},
		{name: "400 limit 0", agent: "agt_customer_support", query: "limit=0", status: 400},
		{name: "400 limit 101", agent: "agt_customer_support", query: "limit=101", status: 400},
		{name: "400 limit not a number", agent: "agt_customer_support", query: "limit=ten", status: 400},
		{name: "400 enabled not a boolean", agent: "agt_customer_support", query: "enabled=maybe", status: 400},
		{name: "400 unknown page key", agent: "agt_customer_support", query: "page_key=bm90LWEta2V5", status: 400},
		{name: "429 from its rate limit", agent: "agt_customer_support", status: 429, warm: true, setup: func(s *agentstest.Server) {
			s.SetRateLimit(0.001, 1, "7")
		}},
		{name: "429 from its rate limit, no Retry-After", agent: "agt_customer_support", status: 429, warm: true, setup: func(s *agentstest.Server) {
			s.SetRateLimit(0.001, 1, "")
		}},
		{name: "429 scripted, delta-seconds", agent: "agt_customer_support", status: 429, setup: func(s *agentstest.Server) {
			s.Script(agentstest.Error(http.StatusTooManyRequests, "2"))
		}},
		{name: "429 scripted, HTTP-date", agent: "agt_customer_support", status: 429, setup: func(s *agentstest.Server) {
			s.Script(agentstest.Error(http.StatusTooManyRequests, time.Now().Add(time.Minute).UTC().Format(http.TimeFormat)))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := agentstest.NewServer()
			t.Cleanup(srv.Close)
			r := router(t, srv.URL)
			hc := srv.HTTPClient()
			u := srv.URL + "/v2/agents/" + tt.agent + "/sessions"
			if tt.query != "" {
				u += "?" + tt.query
			}
			if tt.setup != nil {
				tt.setup(srv)
			}
			send := func() (*http.Request, *http.Response, []byte) {
				t.Helper()
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
				if err != nil {
					t.Fatal(err)
				}
				switch tt.key {
				case "":
					req.Header.Set("Authorization", "Bearer "+agentstest.DefaultKey)
				case "-":
				default:
					req.Header.Set("Authorization", "Bearer "+tt.key)
				}
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return req, resp, body
			}
			if tt.warm {
				send() // takes the limiter's one token
			}
			req, resp, body := send()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if err := checkResponse(r, req, resp.StatusCode, resp.Header, body); err != nil {
				t.Errorf("the fake's answer does not conform to openapi.yaml: %v\nbody: %s", err, body)
			}
		})
	}
}
