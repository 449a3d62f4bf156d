package agentstest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

// clientKinds are the two ways the kit hands out a Client.
var clientKinds = []struct {
	name string
	new  func(*agentstest.Server, ...agents.Option) (*agents.Client, error)
	fast bool
}{
	{"NewClient", (*agentstest.Server).NewClient, true},
	{"NewRealTimeClient", (*agentstest.Server).NewRealTimeClient, false},
}

// A walk of 1,000 sessions after a scripted 429 with "Retry-After: 1"
// costs NewClient a millisecond of waiting, where NewRealTimeClient waits
// the full second. The bounds are one-sided so that a loaded machine
// cannot fail them: a real-time wait is never shorter than the server
// asked, and a thousandth of a second does not stretch to half of one.
func TestWalkAfterScripted429(t *testing.T) {
	t.Parallel()
	for _, k := range clientKinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			srv := agentstest.NewServer()
			t.Cleanup(srv.Close)
			srv.AddGeneratedAgent("agt_thousand", 1000)
			client, err := k.new(srv)
			if err != nil {
				t.Fatal(err)
			}
			srv.Script(agentstest.Error(http.StatusTooManyRequests, "1"))

			type pageInfo struct{ Sessions, Attempts int }
			var pages []pageInfo
			var waited time.Duration
			start := time.Now()
			for page, err := range client.SessionPages(context.Background(), "agt_thousand", agents.ListSessionsParams{Limit: 100}) {
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, pageInfo{len(page.Sessions), page.Response.Attempts})
				waited += page.Response.Waited
			}

			t.Logf("walk took %v, of which waiting %v", time.Since(start), waited)
			want := make([]pageInfo, 10)
			for i := range want {
				want[i] = pageInfo{Sessions: 100, Attempts: 1}
			}
			want[0].Attempts = 2 // the 429, then the page
			if diff := cmp.Diff(want, pages); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
			if got := srv.Stats(); got.Requests != 11 || got.Served != 10 {
				t.Errorf("server saw %d requests, served %d pages; want 11 and 10", got.Requests, got.Served)
			}
			if st := client.PacingStats(); st.Throttled != 1 || st.Holds != 1 {
				t.Errorf("PacingStats: Throttled %d, Holds %d; want 1 and 1", st.Throttled, st.Holds)
			}
			if k.fast {
				if waited >= 500*time.Millisecond {
					t.Errorf("the walk waited %v in all; want about a millisecond", waited)
				}
				if mode := client.PacingStats().Mode; mode != "off" {
					t.Errorf("PacingStats().Mode = %q; want %q (the kit turns pacing off)", mode, "off")
				}
			} else if waited < time.Second {
				t.Errorf("the walk waited %v in all; want at least the server's Retry-After of 1s", waited)
			}
		})
	}
}

// What the Client reports and decides goes by what the server sent,
// however short NewClient makes the wait.
func TestRetryAfterReportedAsSent(t *testing.T) {
	t.Parallel()
	tooMany := func(retryAfter string, n int) []agentstest.Fault {
		ff := make([]agentstest.Fault, n)
		for i := range ff {
			ff[i] = agentstest.Error(http.StatusTooManyRequests, retryAfter)
		}
		return ff
	}
	tests := []struct {
		name     string
		opts     []agents.Option
		script   []agentstest.Fault
		want     time.Duration // the *APIError's RetryAfter
		requests int64
	}{
		{"retries off", []agents.Option{agents.WithMaxRetries(0)}, tooMany("1", 1), time.Second, 1},
		{"retries spent", nil, tooMany("1", 4), time.Second, 4},
		// 120s is over WithMaxRetryWait: refused at once, although
		// NewClient would have slept only 120ms.
		{"longer than WithMaxRetryWait", []agents.Option{agents.WithMaxRetryWait(time.Minute)}, tooMany("120", 1), 2 * time.Minute, 1},
	}
	for _, k := range clientKinds {
		for _, tt := range tests {
			if !k.fast && tt.want == time.Second && tt.requests > 1 {
				continue // three real seconds prove nothing more
			}
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				srv := agentstest.NewServer()
				t.Cleanup(srv.Close)
				client, err := k.new(srv, tt.opts...)
				if err != nil {
					t.Fatal(err)
				}
				srv.Script(tt.script...)
				_, err = client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
				var apiErr *agents.APIError
				if !errors.Is(err, agents.ErrRateLimitExceeded) || !errors.As(err, &apiErr) {
					t.Fatalf("err = %v; want an *APIError matching ErrRateLimitExceeded", err)
				}
				type report struct {
					StatusCode int
					Code       string
					RetryAfter time.Duration
				}
				want := report{http.StatusTooManyRequests, "rate_limit_exceeded", tt.want}
				got := report{apiErr.StatusCode, apiErr.Code, apiErr.RetryAfter}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("*APIError (-want +got):\n%s", diff)
				}
				if n := srv.Stats().Requests; n != tt.requests {
					t.Errorf("server saw %d requests; want %d", n, tt.requests)
				}
			})
		}
	}
}

// The kit's choices come first, so a test can undo them.
func TestNewClientOptionsOverride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []agents.Option
		wantOff bool
	}{
		{"kit default", nil, true},
		{"WithAdaptivePacing(true)", []agents.Option{agents.WithAdaptivePacing(true)}, false},
		{"WithRateLimit", []agents.Option{agents.WithRateLimit(1000, 1)}, false},
	}
	srv := agentstest.NewServer()
	t.Cleanup(srv.Close)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, err := srv.NewClient(tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := client.PacingStats().Mode == "off"; got != tt.wantOff {
				t.Errorf("PacingStats().Mode = %q; want off: %v", client.PacingStats().Mode, tt.wantOff)
			}
		})
	}
	// A real-time Client paces as agents.NewClient's does.
	client, err := srv.NewRealTimeClient()
	if err != nil {
		t.Fatal(err)
	}
	if mode := client.PacingStats().Mode; mode == "off" {
		t.Errorf("NewRealTimeClient: PacingStats().Mode = %q; want adaptive pacing on", mode)
	}
}
