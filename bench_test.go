package agents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	"github.com/agentsapi/agents-go/internal/scenario"
)

// The benchmarks are documented in BENCHMARKS.md; run them with
//
//	go test -run '^$' -bench . -count 10 | tee bench.txt && benchstat bench.txt

// baselinePage is what a hand-written client decodes into.
type baselinePage struct {
	Sessions []struct {
		ID          string            `json:"id"`
		AgentKey    string            `json:"agent_key"`
		Description string            `json:"description"`
		Metadata    map[string]string `json:"metadata"`
		Enabled     bool              `json:"enabled"`
		CreatedAt   time.Time         `json:"created_at"`
	} `json:"sessions"`
	Metadata struct {
		PageKey    string `json:"page_key"`
		TotalCount int    `json:"total_count"`
	} `json:"metadata"`
}

// BenchmarkPage compares ListSessions of one 100-session page with twenty
// lines of net/http and encoding/json doing the same request and decode,
// against the same server serving the page from memory.
func BenchmarkPage(b *testing.B) {
	srv := fakeapi.New()
	defer srv.Close()
	srv.KeepLog(false)
	srv.CachePages(true)
	const agent = "agt_sales_assistant"
	hc := srv.Client()
	ctx := context.Background()

	b.Run("impl=baseline", func(b *testing.B) {
		url := srv.URL + "/v2/agents/" + agent + "/sessions?limit=100"
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+fakeapi.DefaultKey)
			req.Header.Set("Accept", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page baselinePage
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || len(page.Sessions) != 100 {
				b.Fatalf("status %d, %d sessions, %v", resp.StatusCode, len(page.Sessions), err)
			}
		}
	})
	b.Run("impl=sdk", func(b *testing.B) {
		c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey), agents.WithHTTPClient(hc))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			page, err := c.ListSessions(ctx, agent, agents.ListSessionsParams{Limit: 100})
			if err != nil || len(page.Sessions) != 100 {
				b.Fatalf("%v", err)
			}
		}
	})
}

// BenchmarkWalk walks 1,000,000 generated sessions with AllSessions and
// reports sessions/s and the largest live heap seen during the walk
// (sampled after a GC every 500 pages), which must not grow with it.
func BenchmarkWalk(b *testing.B) {
	const n = 1_000_000
	srv := fakeapi.New()
	defer srv.Close()
	srv.KeepLog(false)
	srv.AddGeneratedAgent("agt_million", n)
	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey), agents.WithHTTPClient(srv.Client()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var peak uint64
	var ms runtime.MemStats
	for b.Loop() {
		i := 0
		for s, err := range c.AllSessions(context.Background(), "agt_million", agents.ListSessionsParams{}) {
			if err != nil {
				b.Fatal(err)
			}
			if i%50_000 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			_ = s
			i++
		}
		if i != n {
			b.Fatalf("walked %d sessions", i)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "sessions/s")
	b.ReportMetric(float64(peak)/(1<<20), "live-MiB")
}

// BenchmarkGoodput plays the retries issue's scenario (16 goroutines, one
// client, a server allowing 50 requests/s with burst 5 and Retry-After: 1)
// for 20 seconds per iteration, with a default agents.Client and with
// plain go-retryablehttp.
func BenchmarkGoodput(b *testing.B) {
	for _, c := range []struct {
		name string
		mk   scenario.NewListFunc
	}{{"impl=sdk", scenario.SDK}, {"impl=retryablehttp", scenario.PlainRetryable}} {
		b.Run(c.name, func(b *testing.B) {
			var ratio, throttled float64
			for b.Loop() {
				res, err := scenario.RunGoodput(scenario.Standard, c.mk)
				if err != nil {
					b.Fatal(err)
				}
				ratio += res.Ratio()
				throttled += float64(res.Throttled)
			}
			b.ReportMetric(100*ratio/float64(b.N), "%-of-limit")
			b.ReportMetric(throttled/float64(b.N), "429s/run")
			b.ReportMetric(0, "ns/op") // the time of a run is fixed; ns/op says nothing
		})
	}
}

// BenchmarkPrefetch walks 40 pages whose server takes 5ms each, with a
// consumer that also spends 5ms on each page, without and with prefetch.
func BenchmarkPrefetch(b *testing.B) {
	for _, prefetch := range []bool{false, true} {
		b.Run(fmt.Sprintf("prefetch=%v", prefetch), func(b *testing.B) {
			res := scenario.RunPrefetch(scenario.PrefetchConfig{Pages: 40, Serve: 5 * time.Millisecond, Work: 5 * time.Millisecond}, prefetch, b.N)
			if res.Err != nil {
				b.Fatal(res.Err)
			}
			b.ReportMetric(float64(res.PerPage.Nanoseconds()), "ns/page")
		})
	}
}

// BenchmarkUnlimited is the unlimited cell of the lab (bench/) as a
// testing.B: 64 goroutines (32 per core on 2 cores: SetParallelism scales
// with GOMAXPROCS) calling for a one-session page, with nothing limiting
// them, so that what is measured is the client's own cost per call.
// impl=baseline is twenty lines of net/http and encoding/json; impl=sdk is
// a default Client given the same transport through WithHTTPClient;
// impl=sdk-own-transport is a default Client with its own transport.
// impl=baseline-timeout and impl=sdk-no-attempt-timeout put the SDK's
// default per-attempt bound on the hand-written side and take it off the
// SDK's, to tell the bound's cost from the SDK's own.
// cpu-ns/op is the process's CPU time per call, client and server
// together: the server's share is the same for every impl, so the
// difference is the client's, and it varies less than ns/op when other
// work shares the machine. Every call's context is context.Background.
func BenchmarkUnlimited(b *testing.B) {
	benchUnlimited(b, context.Background())
}

// BenchmarkUnlimitedRootContext is BenchmarkUnlimited with every call
// under one cancellable root context, as a worker pool run under
// signal.NotifyContext calls, and as the lab (bench/) does: the attempt
// bound is then shared through another path than for
// context.Background (see attemptbound.go).
func BenchmarkUnlimitedRootContext(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchUnlimited(b, ctx)
}

func benchUnlimited(b *testing.B, ctx context.Context) {
	srv := fakeapi.New()
	defer srv.Close()
	srv.KeepLog(false)
	srv.CachePages(true)
	const agent = "agt_sales_assistant"
	url := srv.URL + "/v2/agents/" + agent + "/sessions?limit=1"
	parallelism := max(1, 64/runtime.GOMAXPROCS(0))
	// tuned is the baseline's transport: a pool big enough that 64
	// goroutines never close connections.
	tuned := func() *http.Client {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 64, 64
		return &http.Client{Transport: t}
	}

	// baseline-timeout bounds each request as the SDK bounds each attempt
	// by default (WithAttemptTimeout, 30 s), and sdk-no-attempt-timeout
	// turns that bound off: together they price the bound on both sides.
	for _, timeout := range []time.Duration{0, 30 * time.Second} {
		name := "impl=baseline"
		if timeout > 0 {
			name = "impl=baseline-timeout"
		}
		b.Run(name, func(b *testing.B) {
			hc := tuned()
			defer hc.CloseIdleConnections()
			b.ReportAllocs()
			b.SetParallelism(parallelism)
			defer reportCPU(b, processCPU())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if !baselineCall(ctx, b, hc, url, timeout) {
						return
					}
				}
			})
		})
	}
	for _, v := range []struct {
		name      string
		own       bool
		noTimeout bool
	}{{"impl=sdk", false, false}, {"impl=sdk-own-transport", true, false}, {"impl=sdk-no-attempt-timeout", false, true}} {
		b.Run(v.name, func(b *testing.B) {
			opts := []agents.Option{agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey)}
			if !v.own {
				hc := tuned()
				defer hc.CloseIdleConnections()
				opts = append(opts, agents.WithHTTPClient(hc))
			}
			if v.noTimeout {
				opts = append(opts, agents.WithAttemptTimeout(0))
			}
			c, err := agents.NewClient(opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(parallelism)
			defer reportCPU(b, processCPU())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					page, err := c.ListSessions(ctx, agent, agents.ListSessionsParams{Limit: 1})
					if err != nil || len(page.Sessions) != 1 {
						b.Errorf("%v", err)
						return
					}
				}
			})
		})
	}
}

// baselineCall is one call of the hand-written client under ctx, bounded
// by timeout when it is not 0; it reports whether the call went well.
func baselineCall(ctx context.Context, b *testing.B, hc *http.Client, url string, timeout time.Duration) bool {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		b.Error(err)
		return false
	}
	req.Header.Set("Authorization", "Bearer "+fakeapi.DefaultKey)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		b.Error(err)
		return false
	}
	var page baselinePage
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(page.Sessions) != 1 {
		b.Errorf("status %d, %d sessions, %v", resp.StatusCode, len(page.Sessions), err)
		return false
	}
	return true
}

// reportCPU reports the process CPU time used since start, per iteration.
func reportCPU(b *testing.B, start time.Duration) {
	if start == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}
