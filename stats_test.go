package agents_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/agentsapi/agents-go"
)

// TestPacingStatsReportsWhatTheServerSaid: one 429 with Retry-After-Ms,
// then pages with X-RateLimit headers; PacingStats says what the Client
// heard and did.
func TestPacingStatsReportsWhatTheServerSaid(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-RateLimit-Limit", "50")
		h.Set("X-RateLimit-Reset", "1")
		if n.Add(1) == 1 {
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("Retry-After-Ms", "5")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		h.Set("X-RateLimit-Remaining", "48")
		h.Set("Content-Type", "application/json")
		w.Write([]byte(`{"sessions":[],"metadata":{"total_count":0}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey("k"),
		agents.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PacingStats(); got.Mode != "unpaced" || got.ServerRemaining != -1 {
		t.Errorf("before any call: Mode %q, ServerRemaining %d; want unpaced, -1", got.Mode, got.ServerRemaining)
	}
	if _, err := c.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	want := agents.PacingStats{
		Mode:            "headers",
		ServerLimit:     50,
		ServerWindow:    time.Second,
		ServerRemaining: 48,
		Requests:        2,
		Throttled:       1,
		Holds:           1,
		Retries:         1,
	}
	got := c.PacingStats()
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(agents.PacingStats{}, "Rate", "HoldUntil")); diff != "" {
		t.Errorf("PacingStats (-want +got):\n%s", diff)
	}
	if got.Rate <= 0 || got.Rate > 50 {
		t.Errorf("Rate = %v, want a pace under the announced 50/s", got.Rate)
	}
}
