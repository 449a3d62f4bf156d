package agents_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// messages collects the messages of every log record, for tests to count.
type messages struct {
	mu   sync.Mutex
	msgs []string
}

func (m *messages) Enabled(context.Context, slog.Level) bool { return true }
func (m *messages) WithAttrs([]slog.Attr) slog.Handler       { return m }
func (m *messages) WithGroup(string) slog.Handler            { return m }
func (m *messages) Handle(_ context.Context, r slog.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, r.Message)
	return nil
}

func (m *messages) count(msg string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.msgs {
		if s == msg {
			n++
		}
	}
	return n
}

// TestWalkRidesOutOutage: twelve failures in a row mid-walk, far more than
// one call's retries cover, and the walk still yields every session once,
// in order, logging each resumption.
func TestWalkRidesOutOutage(t *testing.T) {
	t.Parallel()
	outages := map[string]fakeapi.Fault{
		"503":              fakeapi.Status(http.StatusServiceUnavailable, ""),
		"dropped requests": fakeapi.Drop(),
	}
	for name, fault := range outages {
		for _, prefetch := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/prefetch=%v", name, prefetch), func(t *testing.T) {
				t.Parallel()
				rideOut(t, fault, prefetch)
			})
		}
	}
}

func rideOut(t *testing.T, fault fakeapi.Fault, prefetch bool) {
	log := &messages{}
	srv, c := setup(t, agents.WithMaxRetries(1), agents.WithPrefetch(prefetch), agents.WithLogger(slog.New(log)))
	faults := []fakeapi.Fault{fakeapi.Pass(), fakeapi.Pass()}
	for range 12 {
		faults = append(faults, fault)
	}
	srv.Script(faults...)
	var got []string
	for s, err := range c.AllSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 20}) {
		if err != nil {
			t.Fatalf("after %d sessions: %v", len(got), err)
		}
		got = append(got, s.ID)
	}
	if diff := cmp.Diff(wantSessions("agt_sales_assistant", 250, nil), got); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	// Six calls of two attempts each failed: six resumptions.
	// net/http itself resends a request dropped on a reused
	// connection, so drops are fewer calls.
	if n := log.count("agents: resuming walk"); n != 6 && (fault.Kind != fakeapi.KindDrop || n < 3) {
		t.Errorf("%d resumptions logged, want 6", n)
	}
}

func TestWalkRetryBudgetEnds(t *testing.T) {
	t.Parallel()
	always503 := fakeapi.Chaos{Seed: 1, Rate: 1, Faults: []fakeapi.Fault{fakeapi.Status(http.StatusServiceUnavailable, "")}}
	tests := []struct {
		name    string
		opts    []agents.Option
		timeout time.Duration // of the walk's context; 0 for none
		fault   fakeapi.Fault // the first page's; chaos when Kind is 0
		maxReqs int           // requests at most; 0 for no check
	}{
		{name: "budget spent", opts: []agents.Option{agents.WithWalkRetryBudget(50 * time.Millisecond)}},
		// The wait the server asks for would end past the deadline: the
		// walk stops at once, with the 503, instead of sleeping into it.
		{name: "context deadline comes first", timeout: 10 * time.Second, opts: []agents.Option{agents.WithMaxRetries(0)},
			fault: fakeapi.Status(http.StatusServiceUnavailable, "20"), maxReqs: 1},
		{name: "Retry-After longer than WithMaxRetryWait", opts: []agents.Option{agents.WithMaxRetryWait(100 * time.Millisecond), agents.WithMaxRetries(0)},
			fault: fakeapi.Status(http.StatusServiceUnavailable, "1"), maxReqs: 1},
		{name: "not transient", fault: fakeapi.Status(http.StatusNotImplemented, ""), maxReqs: 1},
		{name: "off", opts: []agents.Option{agents.WithWalkRetryBudget(0), agents.WithMaxRetries(0)}, maxReqs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, tt.opts...)
			if tt.fault.Kind != 0 {
				srv.Script(tt.fault)
			} else {
				srv.SetChaos(always503)
			}
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			var errs []error
			for _, err := range c.AllSessions(ctx, "agt_sales_assistant", agents.ListSessionsParams{}) {
				if err == nil {
					t.Fatal("a session from a server that only fails")
				}
				errs = append(errs, err)
			}
			var pe *agents.PageError
			var apiErr *agents.APIError
			if len(errs) != 1 || !errors.As(errs[0], &pe) || !errors.As(errs[0], &apiErr) || apiErr.StatusCode/100 != 5 {
				t.Fatalf("errors = %v, want one *PageError around the last 5xx", errs)
			}
			if errors.Is(errs[0], context.DeadlineExceeded) {
				t.Errorf("err = %v: the walk slept into its deadline instead of stopping before it", errs[0])
			}
			if n := len(srv.Requests()); tt.maxReqs > 0 && n > tt.maxReqs {
				t.Errorf("%d requests, want at most %d", n, tt.maxReqs)
			} else if tt.maxReqs == 0 && n < 8 {
				t.Errorf("%d requests: the walk did not keep trying", n)
			}
		})
	}
}
