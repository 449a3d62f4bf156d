package agents_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// TestSoakUnderFaults walks 20,000 sessions while the server answers a
// third of all requests with a fault: 429s with and without Retry-After,
// 500/502/503/504, dropped connections, bodies cut off mid-way and slow
// replies. It passes only if every session arrives exactly once, in
// order, and the walk ends without error.
func TestSoakUnderFaults(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("soak")
	}
	const n = 20000
	for _, seed := range []uint64{1, 2, 3, 4} {
		for _, prefetch := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed=%d/prefetch=%v", seed, prefetch), func(t *testing.T) {
				t.Parallel()
				// Ten retries: at a 33% fault rate, four failures in a row
				// on one of 200 pages are likely; eleven are not.
				srv, c := setup(t, agents.WithMaxRetries(10), agents.WithPrefetch(prefetch),
					agents.WithAttemptTimeout(2*time.Second))
				srv.KeepLog(false)
				srv.AddGeneratedAgent(bigAgent, n)
				srv.SetChaos(fakeapi.Chaos{Seed: seed, Rate: 0.33, Faults: fakeapi.MixedFaults(20 * time.Millisecond)})
				start := time.Now()
				i := 0
				for s, err := range c.AllSessions(context.Background(), bigAgent, agents.ListSessionsParams{}) {
					if err != nil {
						t.Fatalf("after %d sessions: %v", i, err)
					}
					if want := fakeapi.GeneratedSession(bigAgent, i).ID; s.ID != want {
						t.Fatalf("session %d is %s, want %s", i, s.ID, want)
					}
					i++
				}
				if i != n {
					t.Fatalf("walked %d sessions, want %d", i, n)
				}
				st := srv.Stats()
				if frac := float64(st.Faults) / float64(st.Requests); frac < 0.25 {
					t.Errorf("only %.0f%% of requests met a fault; the soak is too gentle", 100*frac)
				}
				t.Logf("%d requests, %d faults (%.0f%%), %v", st.Requests, st.Faults, 100*float64(st.Faults)/float64(st.Requests), time.Since(start).Round(time.Millisecond))
			})
		}
	}
}
