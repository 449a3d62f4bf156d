package main

import (
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestEveryShapeAnswers runs every shape briefly with each implementation
// and checks only that the harness works: the server answers, every
// call is counted once, and each cell gets at least one page through.
// It asserts nothing about percentages: those are the lab's output, and
// timing on a shared CI machine is not a test.
func TestEveryShapeAnswers(t *testing.T) {
	t.Parallel()
	var cells []cell
	for _, s := range shapes {
		names, fleets := []string{implSDK, implRetryable}, []int{1, 2}
		if s.name == "unlimited" {
			names, fleets = []string{implSDK, implHand, implRetryable, implSDKSharedT}, []int{1}
		}
		for _, n := range names {
			for _, k := range fleets {
				cells = append(cells, cell{shape: s, impl: impls[n], clients: k, workers: 4, d: time.Second})
			}
		}
	}
	// All cells at once, each against its own server: go test would run
	// only GOMAXPROCS parallel subtests at a time, and these mostly wait.
	results := make([]result, len(cells))
	errs := make([]error, len(cells))
	var wg sync.WaitGroup
	for i, c := range cells {
		wg.Go(func() { results[i], errs[i] = c.run() })
	}
	wg.Wait()

	for i, c := range cells {
		r, err := results[i], errs[i]
		t.Run(c.String(), func(t *testing.T) {
			if err != nil {
				t.Fatal(err)
			}
			if r.ok < 1 {
				t.Errorf("no call succeeded (errors %d, first %v)", r.errs, r.firstErr)
			}
			// Each page the server sent ended one successful call, unless
			// the stop cut that call off while it read.
			if r.sent200 < r.ok || r.sent200 > r.ok+r.cut {
				t.Errorf("server sent %d pages; clients counted %d successes and %d cut calls", r.sent200, r.ok, r.cut)
			}
			var sum int64
			for _, n := range r.perClient {
				sum += n
			}
			if sum != r.ok {
				t.Errorf("per-client successes add up to %d, want %d", sum, r.ok)
			}
			if c.shape.name == "unlimited" && r.sent429 != 0 {
				t.Errorf("the unlimited server sent %d 429s", r.sent429)
			}
		})
	}
}

func TestFixedWindow(t *testing.T) {
	t.Parallel()
	origin := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &fixedWindow{limit: 2, length: time.Second, origin: origin}
	type step struct {
		at        time.Duration
		ok        bool
		remaining int
		reset     time.Duration
	}
	steps := []step{
		{0, true, 1, time.Second},
		{300 * time.Millisecond, true, 0, 700 * time.Millisecond},
		{900 * time.Millisecond, false, 0, 100 * time.Millisecond},
		{1000 * time.Millisecond, true, 1, time.Second},
		{3500 * time.Millisecond, true, 1, 500 * time.Millisecond},
	}
	for _, want := range steps {
		got := step{at: want.at}
		got.ok, got.remaining, got.reset = w.take(origin.Add(want.at))
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(step{})); diff != "" {
			t.Errorf("take at %v (-want +got):\n%s", want.at, diff)
		}
	}
}

func TestCeilSeconds(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Second:            "0",
		0:                       "0",
		time.Nanosecond:         "1",
		20 * time.Millisecond:   "1",
		time.Second:             "1",
		1001 * time.Millisecond: "2",
	} {
		if got := ceilSeconds(d); got != want {
			t.Errorf("ceilSeconds(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSpreadOf(t *testing.T) {
	t.Parallel()
	ms := []metrics{{pctLimit: 80}, {pctLimit: 20}, {pctLimit: 50}, {pctLimit: 60}}
	got := spreadOf(ms, func(m metrics) float64 { return m.pctLimit })
	if diff := cmp.Diff(spread{med: 55, min: 20, max: 80}, got, cmp.AllowUnexported(spread{})); diff != "" {
		t.Errorf("spreadOf (-want +got):\n%s", diff)
	}
}

func TestParseFlagsRejectsBadInput(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-shapes", "nope"},
		{"-impl", "curl"},
		{"-clients", "0"},
		{"-clients", "17"},
		{"-clients", "4,x"},
		{"-runs", "0"},
		{"-duration", "1ns"},
		{"-duration", "1h"},
		{"-workers", "0"},
		{"-parallel", "0"},
		{"extra"},
	} {
		_, err := parseFlags(args, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "bench: ") && !strings.Contains(err.Error(), "invalid value") {
			t.Errorf("parseFlags(%q) = %v, want a bench: error", args, err)
		}
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want []string
	}{
		{
			[]string{"-shapes", "httprate,unlimited", "-clients", "1,4"},
			[]string{
				"httprate/sdk/clients=1/workers=16",
				"httprate/retryablehttp/clients=1/workers=16",
				"httprate/sdk/clients=4/workers=16",
				"httprate/retryablehttp/clients=4/workers=16",
				"unlimited/sdk/clients=1/workers=64",
				"unlimited/hand/clients=1/workers=64",
				"unlimited/retryablehttp/clients=1/workers=64",
				"unlimited/sdk-tuned-transport/clients=1/workers=64",
			},
		},
		{
			// The redis impls have no unlimited cell, and an outage shows
			// in their cells' names only.
			[]string{"-shapes", "httprate,unlimited", "-impl", "sdk,redis-learn", "-clients", "8", "-redis-outage", "5s"},
			[]string{
				"httprate/sdk/clients=8/workers=16",
				"httprate/redis-learn/clients=8/workers=16/outage=5s",
				"unlimited/sdk/clients=1/workers=64",
				"unlimited/hand/clients=1/workers=64",
			},
		},
	}
	for _, tt := range tests {
		o, err := parseFlags(tt.args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		limited, unlimited := o.plan(nil)
		var got []string
		for _, c := range append(limited, unlimited...) {
			got = append(got, c.String())
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("plan of %q (-want +got):\n%s", tt.args, diff)
		}
	}
}

// TestRunLabPrintsTables runs the whole program path briefly and checks
// that both tables come out, with every cell in them.
func TestRunLabPrintsTables(t *testing.T) {
	t.Parallel()
	for _, md := range []string{"-md=false", "-md=true"} {
		o, err := parseFlags([]string{"-shapes", "fixed-window,unlimited", "-clients", "1,2", "-runs", "1",
			"-duration", "200ms", "-parallel", "4", "-workers", "2", "-unlimited-workers", "2", "-trace", md}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		var out, progress strings.Builder
		if err := runLab(o, &out, &progress); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"expect about", "agents-go default % of limit", "fixed-window",
			"Jain", "hand-written net/http (64 idle conns)", "1.00x"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: output lacks %q:\n%s", md, want, out.String())
			}
		}
		if !strings.Contains(progress.String(), "trace fixed-window/sdk/clients=1") {
			t.Errorf("%s: no trace in progress output:\n%s", md, progress.String())
		}
	}
}
