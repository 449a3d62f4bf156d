package agents_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
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

// TestHoldAndPacingHooks: a 429 with Retry-After sets a hold and the
// pace changes as the server's headers arrive; OnHold and OnPacing hear
// of both, outside the pacer's lock (they read PacingStats), and every
// set given with WithHooks is called.
func TestHoldAndPacingHooks(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Request-Id", "req_"+strconv.FormatInt(n.Add(1), 10))
		h.Set("RateLimit-Policy", `"default";q=40;w=1`)
		h.Set("RateLimit", `"default";r=30;t=1`)
		if n.Load() == 1 {
			h.Set("Retry-After-Ms", "20")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		h.Set("Content-Type", "application/json")
		w.Write([]byte(`{"sessions":[],"metadata":{"total_count":0}}`))
	}))
	t.Cleanup(srv.Close)
	var (
		mu    sync.Mutex
		holds []agents.HoldEvent
		paces []agents.PacingEvent
		c     *agents.Client
	)
	record := agents.Hooks{
		OnHold: func(ev agents.HoldEvent) {
			mu.Lock()
			defer mu.Unlock()
			holds = append(holds, ev)
		},
		OnPacing: func(ev agents.PacingEvent) {
			_ = c.PacingStats() // would deadlock if called under the pacer's lock
			mu.Lock()
			defer mu.Unlock()
			paces = append(paces, ev)
		},
	}
	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey("k"),
		agents.WithHooks(record), agents.WithHooks(record))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListSessions(context.Background(), "agt_x", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(holds) != 2 || holds[0].RequestID != "req_1" || holds[0].Duration != 20*time.Millisecond {
		t.Errorf("holds = %+v, want the 429's 20ms hold, once per hook set", holds)
	}
	if len(paces) < 2 || paces[0].Limit != 40 || paces[0].Rate <= 0 || paces[0].Reason != "429" {
		t.Errorf("paces = %+v, want the pace the headers set (limit 40), once per hook set", paces)
	}
}
