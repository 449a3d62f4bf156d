package conformance

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"github.com/getkin/kin-openapi/routers"
)

// recorder validates each request the SDK sends, and the answer it gets,
// against the spec, on the way through.
type recorder struct {
	next   http.RoundTripper
	router routers.Router

	mu   sync.Mutex
	n    int
	errs []error
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	reqErr := checkRequest(rec.router, req)
	resp, err := rec.next.RoundTrip(req)
	var respErr error
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err == nil {
			respErr = checkResponse(rec.router, req, resp.StatusCode, resp.Header, body)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.n++
	if reqErr != nil {
		rec.errs = append(rec.errs, errors.Join(errors.New("request "+req.URL.String()), reqErr))
	}
	if respErr != nil {
		rec.errs = append(rec.errs, errors.Join(errors.New("response to "+req.URL.String()), respErr))
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// TestSDKRequestsConform drives the SDK through what it can send (one
// page with each parameter, walks with and without prefetch and MaxItems,
// per-call headers, retries, each documented error) and validates every
// request it sent, and every answer, against openapi.yaml.
func TestSDKRequestsConform(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	tests := []struct {
		name   string
		script []agentstest.Fault
		opts   []agents.Option
		run    func(ctx context.Context, c *agents.Client) error
		want   error // the error the calls end with, matched with errors.Is
	}{
		{name: "one page, defaults", run: page("agt_customer_support", agents.ListSessionsParams{})},
		{name: "one page, every parameter", run: page("agt_customer_support", agents.ListSessionsParams{
			Limit: 3, Enabled: &yes, PageKey: agentstest.Cursor("ase_customer_support_003"),
		})},
		{name: "one page, disabled only", run: page("agt_customer_support", agents.ListSessionsParams{Enabled: &no, Limit: 100})},
		{name: "one page, MaxItems", run: page("agt_customer_support", agents.ListSessionsParams{MaxItems: 7})},
		{name: "one page, per-call options", run: func(ctx context.Context, c *agents.Client) error {
			_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{Limit: 5},
				agents.WithHeader("X-Trace-Id", "4bf92f3577b34da6"), agents.WithCallMaxRetries(1))
			return err
		}},
		{name: "walk every session", run: walk("agt_sales_assistant", agents.ListSessionsParams{})},
		{name: "walk with a small limit", run: walk("agt_customer_support", agents.ListSessionsParams{Limit: 25, Enabled: &yes})},
		{name: "walk with MaxItems", run: walk("agt_sales_assistant", agents.ListSessionsParams{MaxItems: 150})},
		{name: "walk with prefetch", opts: []agents.Option{agents.WithPrefetch(true)}, run: walk("agt_sales_assistant", agents.ListSessionsParams{Limit: 60})},
		{name: "walk of an empty agent", run: walk("agt_empty", agents.ListSessionsParams{})},
		{name: "retry after a 429", script: []agentstest.Fault{agentstest.Error(http.StatusTooManyRequests, "")},
			run: page("agt_customer_support", agents.ListSessionsParams{Limit: 10})},
		{name: "a walk that meets a 429", script: []agentstest.Fault{agentstest.Pass(), agentstest.Error(http.StatusTooManyRequests, "")},
			run: walk("agt_sales_assistant", agents.ListSessionsParams{})},
		{name: "429 given up on", script: []agentstest.Fault{agentstest.Error(http.StatusTooManyRequests, "")},
			opts: []agents.Option{agents.WithMaxRetries(0)},
			run:  page("agt_customer_support", agents.ListSessionsParams{}), want: agents.ErrRateLimitExceeded},
		{name: "404", run: page("agt_no_such_agent", agents.ListSessionsParams{}), want: agents.ErrAgentNotFound},
		{name: "403", run: page(agentstest.RestrictedAgent, agents.ListSessionsParams{}), want: agents.ErrForbidden},
		{name: "401", opts: []agents.Option{agents.WithAPIKey("sk_not_known")},
			run: page("agt_customer_support", agents.ListSessionsParams{}), want: agents.ErrUnauthorized},
		{name: "400 from the server", run: page("agt_customer_support", agents.ListSessionsParams{PageKey: "bm90LWEta2V5"}), want: agents.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := agentstest.NewServer()
			t.Cleanup(srv.Close)
			next := srv.HTTPClient().Transport
			if next == nil {
				next = http.DefaultTransport
			}
			rec := &recorder{next: next, router: router(t, srv.URL)}
			opts := append([]agents.Option{agents.WithHTTPClient(&http.Client{Transport: rec})}, tt.opts...)
			c, err := srv.NewClient(opts...)
			if err != nil {
				t.Fatal(err)
			}
			srv.Script(tt.script...)
			if err := tt.run(t.Context(), c); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for _, err := range rec.errs {
				t.Errorf("does not conform to openapi.yaml: %v", err)
			}
			if got := len(srv.Requests()); rec.n == 0 || got != rec.n {
				t.Errorf("validated %d exchanges, the server received %d requests", rec.n, got)
			}
		})
	}
}

func page(agent string, p agents.ListSessionsParams) func(context.Context, *agents.Client) error {
	return func(ctx context.Context, c *agents.Client) error {
		_, err := c.ListSessions(ctx, agent, p)
		return err
	}
}

func walk(agent string, p agents.ListSessionsParams) func(context.Context, *agents.Client) error {
	return func(ctx context.Context, c *agents.Client) error {
		for _, err := range c.SessionPages(ctx, agent, p) {
			if err != nil {
				return err
			}
		}
		return nil
	}
}
