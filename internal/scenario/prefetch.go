package scenario

import (
	"context"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// PrefetchConfig is the performance issue's prefetch scenario: a walk of
// Pages pages, each taking the server Serve to answer and the consumer
// Work to process.
type PrefetchConfig struct {
	Pages int
	Serve time.Duration
	Work  time.Duration
}

// PrefetchResult is the time a walk took per page.
type PrefetchResult struct {
	PerPage time.Duration
	Err     error
}

// RunPrefetch walks runs times and returns the mean time per page.
func RunPrefetch(cfg PrefetchConfig, prefetch bool, runs int) PrefetchResult {
	srv := fakeapi.New()
	defer srv.Close()
	srv.KeepLog(false)
	srv.AddGeneratedAgent("agt_prefetch", cfg.Pages*10)
	srv.SetChaos(fakeapi.Chaos{Rate: 1, Faults: []fakeapi.Fault{fakeapi.Slow(cfg.Serve)}})
	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithHTTPClient(srv.Client()), agents.WithPrefetch(prefetch))
	if err != nil {
		return PrefetchResult{Err: err}
	}
	start := time.Now()
	pages := 0
	for range runs {
		for _, err := range c.SessionPages(context.Background(), "agt_prefetch", agents.ListSessionsParams{Limit: 10}) {
			if err != nil {
				return PrefetchResult{Err: err}
			}
			time.Sleep(cfg.Work)
			pages++
		}
	}
	return PrefetchResult{PerPage: time.Since(start) / time.Duration(max(pages, 1))}
}
