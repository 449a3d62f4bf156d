package agents_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"testing"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// TestContextEndSaysWhatWasTried: when the caller's deadline ends a call
// against a hung server, the error still matches the context's error and
// says how many attempts went to which host, and for how long.
func TestContextEndSaysWhatWasTried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script []fakeapi.Fault
		opts   []agents.Option
		want   string
	}{
		{"hung first attempt", []fakeapi.Fault{fakeapi.Hang()}, nil, `after 1 attempt to `},
		{"hung after dropped attempts", []fakeapi.Fault{fakeapi.Drop(), fakeapi.Drop(), fakeapi.Hang()},
			[]agents.Option{agents.WithMaxRetries(5)}, `after 3 attempts to `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, tt.opts...)
			srv.Script(tt.script...)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want one matching context.DeadlineExceeded", err)
			}
			u, _ := url.Parse(srv.URL)
			re := regexp.MustCompile(`^agents: context deadline exceeded ` + regexp.QuoteMeta(tt.want) + regexp.QuoteMeta(u.Host) + ` in \d`)
			if !re.MatchString(err.Error()) {
				t.Errorf("err = %v, want it to match %s", err, re)
			}
		})
	}
}
