package agents_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	agents "github.com/agentsapi/agents-go"
)

// TestDNSErrors: a host name that does not exist is a typo in the base
// URL and fails at once; a resolver failing for the moment is retried.
// The resolver's answers are made by the dialer, as a real one's arrive.
func TestDNSErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		dnsErr   *net.DNSError
		attempts int64
	}{
		{"no such host", &net.DNSError{Err: "no such host", Name: "agents.invalid", IsNotFound: true}, 1},
		{"resolver timeout", &net.DNSError{Err: "i/o timeout", Name: "agents.invalid", IsTimeout: true, IsTemporary: true}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var dials atomic.Int64
			hc := &http.Client{Transport: &http.Transport{
				DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
					dials.Add(1)
					return nil, &net.OpError{Op: "dial", Net: network, Err: tt.dnsErr}
				},
			}}
			c, err := agents.NewClient(agents.WithBaseURL("https://agents.invalid"), agents.WithAPIKey("k"),
				agents.WithHTTPClient(hc), agents.WithMaxRetries(2), agents.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{})
			var dnsErr *net.DNSError
			if !errors.As(err, &dnsErr) {
				t.Errorf("err = %v, want a *net.DNSError", err)
			}
			if got := dials.Load(); got != tt.attempts {
				t.Errorf("%d attempts, want %d (err: %v)", got, tt.attempts, err)
			}
		})
	}
}
