// Package scenario holds the load scenarios that the benchmarks, the
// tests and the scenario runner share, so that each figure in
// BENCHMARKS.md comes from one implementation.
package scenario

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// GoodputConfig is the retries issue's scenario: Workers goroutines share
// one client against a server that accepts Limit requests a second with
// bursts of Burst and answers the rest 429 with Retry-After.
type GoodputConfig struct {
	Workers    int
	Duration   time.Duration
	Limit      float64
	Burst      int
	RetryAfter string
}

// Standard is the scenario as the issues state it.
var Standard = GoodputConfig{Workers: 16, Duration: 20 * time.Second, Limit: 50, Burst: 5, RetryAfter: "1"}

// GoodputResult is what one run achieved.
type GoodputResult struct {
	Config    GoodputConfig
	OK        int64 // pages the workers received within Duration
	Failed    int64 // calls that returned an error
	Throttled int64 // 429s the server sent
	Requests  int64 // requests the server received
}

// Goodput is successful pages per second.
func (r GoodputResult) Goodput() float64 { return float64(r.OK) / r.Config.Duration.Seconds() }

// Ratio is goodput as a fraction of the server's limit.
func (r GoodputResult) Ratio() float64 { return r.Goodput() / r.Config.Limit }

func (r GoodputResult) String() string {
	return fmt.Sprintf("%.1f pages/s (%.0f%% of %.0f/s), %d ok, %d failed calls, %d requests, %d 429s",
		r.Goodput(), 100*r.Ratio(), r.Config.Limit, r.OK, r.Failed, r.Requests, r.Throttled)
}

// ListFunc fetches one page; it returns an error when the call failed.
type ListFunc func(ctx context.Context) error

// NewListFunc makes the client under test for a server.
type NewListFunc func(srv *fakeapi.Server) (ListFunc, error)

// SDK is a default agents.Client: adaptive pacing on, default retries.
func SDK(srv *fakeapi.Server) (ListFunc, error) {
	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey), agents.WithHTTPClient(srv.Client()))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
		return err
	}, nil
}

// PlainRetryable is go-retryablehttp with its defaults (4 retries, waits
// from 1s to 30s, Retry-After honoured per call) and a hand-written
// request and decode: what many SDKs amount to.
func PlainRetryable(srv *fakeapi.Server) (ListFunc, error) {
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = srv.Client()
	url := srv.URL + "/v2/agents/agt_customer_support/sessions"
	return func(ctx context.Context) error {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+fakeapi.DefaultKey)
		resp, err := rc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var page agents.SessionPage
		return json.NewDecoder(resp.Body).Decode(&page)
	}, nil
}

// RunGoodput plays the scenario once against a fresh server.
func RunGoodput(cfg GoodputConfig, newList NewListFunc) (GoodputResult, error) {
	srv := fakeapi.New()
	defer srv.Close()
	srv.KeepLog(false)
	srv.SetRateLimit(cfg.Limit, cfg.Burst, cfg.RetryAfter)
	list, err := newList(srv)
	if err != nil {
		return GoodputResult{}, err
	}
	res := GoodputResult{Config: cfg}
	// Workers stop by cancellation, not a deadline: with a deadline the
	// client would rightly refuse waits that end after it, and the last
	// second would measure that instead of the pacing.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(cfg.Duration, cancel)
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := list(ctx); err == nil && ctx.Err() == nil {
					ok.Add(1)
				} else if ctx.Err() == nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	st := srv.Stats()
	res.OK, res.Failed, res.Throttled, res.Requests = ok.Load(), failed.Load(), st.Throttled, st.Requests
	return res, nil
}
