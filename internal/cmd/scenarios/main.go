// Command scenarios plays the performance issue's load scenarios and
// prints their ratios: goodput of a default agents.Client against plain
// go-retryablehttp under an unknown server limit, and a walk with and
// without prefetch.
//
//	go run ./internal/cmd/scenarios [-runs 3] [-seconds 20]
package main

import (
	"flag"
	"fmt"
	"log"
	"slices"
	"time"

	"github.com/agentsapi/agents-go/internal/scenario"
)

func main() {
	runs := flag.Int("runs", 3, "runs of each scenario; medians are printed")
	seconds := flag.Int("seconds", 20, "length of a goodput run")
	flag.Parse()

	cfg := scenario.Standard
	cfg.Duration = time.Duration(*seconds) * time.Second
	fmt.Printf("goodput: %d goroutines, one client, server allows %.0f req/s (burst %d), Retry-After: %s, %v per run\n",
		cfg.Workers, cfg.Limit, cfg.Burst, cfg.RetryAfter, cfg.Duration)
	sdk := goodput(cfg, scenario.SDK, *runs)
	plain := goodput(cfg, scenario.PlainRetryable, *runs)
	fmt.Printf("  agents.Client:    median %.0f%% of the limit, %.0f 429s a run\n", 100*sdk.ratio, sdk.throttled)
	fmt.Printf("  go-retryablehttp: median %.0f%% of the limit, %.0f 429s a run\n", 100*plain.ratio, plain.throttled)
	fmt.Printf("  ratio: %.1fx the goodput (target: at least 80%% of the limit)\n\n", sdk.ratio/plain.ratio)

	pc := scenario.PrefetchConfig{Pages: 40, Serve: 5 * time.Millisecond, Work: 5 * time.Millisecond}
	fmt.Printf("prefetch: %d pages, server %v a page, consumer %v a page\n", pc.Pages, pc.Serve, pc.Work)
	without := prefetch(pc, false, *runs)
	with := prefetch(pc, true, *runs)
	fmt.Printf("  without: median %v a page\n  with:    median %v a page\n", without, with)
	fmt.Printf("  ratio: %.2fx the time (target: at most 0.6x)\n", with.Seconds()/without.Seconds())
}

type goodputMedian struct{ ratio, throttled float64 }

func goodput(cfg scenario.GoodputConfig, mk scenario.NewListFunc, runs int) goodputMedian {
	var ratios, throttled []float64
	for range runs {
		res, err := scenario.RunGoodput(cfg, mk)
		if err != nil {
			log.Fatal(err)
		}
		ratios = append(ratios, res.Ratio())
		throttled = append(throttled, float64(res.Throttled))
	}
	return goodputMedian{median(ratios), median(throttled)}
}

func prefetch(cfg scenario.PrefetchConfig, on bool, runs int) time.Duration {
	var per []float64
	for range runs {
		res := scenario.RunPrefetch(cfg, on, 1)
		if res.Err != nil {
			log.Fatal(res.Err)
		}
		per = append(per, float64(res.PerPage))
	}
	return time.Duration(median(per)).Round(10 * time.Microsecond)
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
