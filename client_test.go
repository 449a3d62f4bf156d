package agents_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

func TestNewClientConstruction(t *testing.T) {
	// Not parallel: some cases set environment variables.
	tests := []struct {
		name    string
		env     map[string]string
		opts    []agents.Option
		wantErr string // substring; "" means success
	}{
		{name: "options", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("https://api.example.com")}},
		{name: "environment", env: map[string]string{"AGENTS_API_KEY": "k", "AGENTS_BASE_URL": "https://api.example.com/"}},
		{name: "option beats environment", env: map[string]string{"AGENTS_API_KEY": "k", "AGENTS_BASE_URL": "ftp://x"}, opts: []agents.Option{agents.WithBaseURL("https://api.example.com")}},
		{name: "no key", opts: []agents.Option{agents.WithBaseURL("https://api.example.com")}, wantErr: "set AGENTS_API_KEY or use WithAPIKey"},
		{name: "empty key option", env: map[string]string{"AGENTS_API_KEY": "k"}, opts: []agents.Option{agents.WithAPIKey(""), agents.WithBaseURL("https://a.example")}, wantErr: "no API key"},
		{name: "no base URL", opts: []agents.Option{agents.WithAPIKey("k")}, wantErr: "set AGENTS_BASE_URL or use WithBaseURL"},
		{name: "relative URL", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("/v2")}, wantErr: "not an absolute http(s) URL"},
		{name: "host without scheme", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("api.example.com")}, wantErr: "not an absolute http(s) URL"},
		{name: "ftp", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("ftp://api.example.com")}, wantErr: "not an absolute http(s) URL"},
		{name: "plain http remote", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("http://api.example.com")}, wantErr: "use https"},
		{name: "plain http private range", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("http://10.0.0.1:8080")}, wantErr: "use https"},
		{name: "plain http localhost", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("http://localhost:8080")}},
		{name: "plain http 127.0.0.2", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("http://127.0.0.2:8080/api")}},
		{name: "plain http ::1", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("http://[::1]:8080")}},
		{name: "credentials in URL", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("https://u:p@api.example.com")}, wantErr: "holds credentials"},
		{name: "query in URL", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("https://api.example.com?x=1")}, wantErr: "query or fragment"},
		{name: "key with newline", opts: []agents.Option{agents.WithAPIKey("k\r\nX-Evil: 1"), agents.WithBaseURL("https://a.example")}, wantErr: "control characters"},
		{name: "user agent with newline", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("https://a.example"), agents.WithUserAgent("x\r\nX-Evil: 1")}, wantErr: "control characters"},
		{name: "negative retries", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("https://a.example"), agents.WithMaxRetries(-1)}, wantErr: "WithMaxRetries"},
		{name: "backoff min > max", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("https://a.example"), agents.WithRetryBackoff(2, 1)}, wantErr: "WithRetryBackoff"},
		{name: "zero burst", opts: []agents.Option{agents.WithAPIKey("k"), agents.WithBaseURL("https://a.example"), agents.WithRateLimit(5, 0)}, wantErr: "WithRateLimit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AGENTS_API_KEY", "")
			t.Setenv("AGENTS_BASE_URL", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := agents.NewClient(tt.opts...)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("NewClient() = %v, %v; want a client", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewClient() error = %v; want one containing %q", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "agents: ") {
				t.Errorf("error %q does not start with \"agents: \"", err)
			}
		})
	}
}

func TestBaseURLPathKept(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"", "/"} {
		srv := fakeapi.New(fakeapi.WithBasePath("/gateway/agents-api"))
		t.Cleanup(srv.Close)
		c := newClient(t, srv, agents.WithBaseURL(srv.URL+suffix))
		if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
			t.Fatalf("base %q: %v", srv.URL+suffix, err)
		}
		got := srv.Requests()[0].Path
		if want := "/gateway/agents-api/v2/agents/agt_customer_support/sessions"; got != want {
			t.Errorf("base %q: request path = %q, want %q", srv.URL+suffix, got, want)
		}
	}
}

// TestKeyNeverPrinted prints the Client and every error the package
// returns, under every verb, and scans the debug log for the key.
func TestKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	const key = "sk_live_SECRET_must_not_leak_42"
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	srv.AddKey(key)
	srv.AllowAll(key)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, srv, agents.WithAPIKey(key), agents.WithLogger(logger), agents.WithMaxRetries(2))

	var printed []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		printed = append(printed, fmt.Sprintf(verb, c))
	}
	if got := (*agents.Client)(nil).String(); got != "agents.Client(nil)" {
		t.Errorf("nil Client prints %q", got)
	}
	srv.Script(fakeapi.Status(503, ""), fakeapi.Status(500, ""), fakeapi.Status(502, ""))
	_, err1 := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	_, err2 := c.ListSessions(context.Background(), "agt_nope", agents.ListSessionsParams{})
	_, err3 := c.ListSessions(context.Background(), "bad key", agents.ListSessionsParams{})
	page, _ := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	_, err4 := agents.NewClient(agents.WithAPIKey(key+"\x00"), agents.WithBaseURL(srv.URL))
	_, err5 := agents.NewClient(agents.WithAPIKey(key), agents.WithBaseURL("http://example.com"))
	for _, v := range []any{err1, err2, err3, err4, err5, page} {
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			printed = append(printed, fmt.Sprintf(verb, v))
		}
	}
	mu.Lock()
	printed = append(printed, logs.String())
	mu.Unlock()
	if !strings.Contains(printed[len(printed)-1], "retrying") {
		t.Errorf("debug log has no retry line; the test would not see a leak there:\n%s", printed[len(printed)-1])
	}
	for _, p := range printed {
		if strings.Contains(p, key) || strings.Contains(p, "SECRET") {
			t.Errorf("the API key leaked into %q", p)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.KeepLog(false)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			for i := range 5 {
				p := agents.ListSessionsParams{Limit: 1 + (g+i)%100}
				page, err := c.ListSessions(context.Background(), "agt_sales_assistant", p)
				if err != nil {
					errs <- err
					return
				}
				if len(page.Sessions) != p.Limit {
					errs <- fmt.Errorf("limit %d: got %d sessions", p.Limit, len(page.Sessions))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
