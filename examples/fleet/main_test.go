package main

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"github.com/agentsapi/agents-go/examples/internal/demo"
)

// secondLine is one of the lines printed each second: the fleet's ok/s
// and 429s, then each worker's.
var secondLine = regexp.MustCompile(`(?m)^ +\d+s +\d+ +\d+  ( \d+ \(\d+\) *)+$`)

// number returns the figure that follows prefix in out.
func number(t *testing.T, out, prefix string) float64 {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(prefix) + `([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output lacks %q:\n%s", prefix, out)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRun(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	t.Setenv("REDIS_URL", "")
	tests := []struct {
		name    string
		args    []string
		workers int
		want    []string
		// sendCap is what the fleet may send a second at most, 429s
		// included, as its pacing allows: not the server's doing.
		sendCap float64
	}{
		{
			name:    "limit given",
			args:    []string{"-limit", "50", "-duration", "2s", "-workers", "3"},
			workers: 3,
			want:    []string{"The limit, 50 requests/s, is given (-limit)", "98% of it through a miniredis in this process"},
			// 98% of 50, and the one request GCRA lets go at once.
			sendCap: 49 + 1.0/2,
		},
		{
			name:    "limit learnt",
			args:    []string{"-duration", "2s", "-workers", "2", "-goroutines", "3"},
			workers: 2,
			want:    []string{"The limit is not given (-limit 0): the fleet learns it together"},
			// The shared slow start: 8/s doubling each second, about 35
			// requests in 2s, whatever the number of workers.
			sendCap: 50,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, diag strings.Builder
			if err := run(context.Background(), tt.args, &out, &diag); err != nil {
				t.Fatalf("run: %v\n%s", err, diag.String())
			}
			got := out.String()
			want := append([]string{
				"each with its own Client, Redis connection and agentsredis Limiter",
				"The server allows 50 requests/s (burst 5)",
				"per worker, ok/s (429s):",
				"Summary, " + strconv.Itoa(tt.workers) + " workers for ",
				"worker   ok/s  share   429s errors",
				"Jain's index",
			}, tt.want...)
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			if !strings.Contains(diag.String(), "REDIS_URL is not set: sharing the limit through a miniredis") {
				t.Errorf("stderr does not say where the limit is shared:\n%s", diag.String())
			}
			if n := len(secondLine.FindAllString(got, -1)); n != 2 {
				t.Errorf("%d lines a second; want 2:\n%s", n, got)
			}
			for i := 1; i <= tt.workers; i++ {
				if !regexp.MustCompile(`(?m)^  w` + strconv.Itoa(i) + ` +[0-9.]+ +[0-9.]+% +\d+ +\d+$`).MatchString(got) {
					t.Errorf("summary lacks a line for w%d:\n%s", i, got)
				}
			}

			// The fleet stays under the fake's limit: what it got through,
			// and, the fleet's own doing, what it sent.
			ok, sent := number(t, got, "fleet: "), number(t, got, "the server received ")
			t.Logf("%.1f ok/s; the server received %.1f/s", ok, sent)
			if ok > 50 {
				t.Errorf("the fleet got %.1f calls/s through a 50/s limit", ok)
			}
			if sent > tt.sendCap {
				t.Errorf("the fleet sent %.1f requests/s; want at most %.1f:\n%s", sent, tt.sendCap, got)
			}
		})
	}
}

// TestRunRedisURL: with REDIS_URL set the fleet shares through that Redis,
// which then holds the fleet's state under a hash of the API key, never
// the key itself.
func TestRunRedisURL(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	m := miniredis.RunT(t)
	t.Setenv("REDIS_URL", "redis://"+m.Addr()+"/0")
	var out, diag strings.Builder
	if err := run(context.Background(), []string{"-limit", "50", "-duration", "1s", "-workers", "2"}, &out, &diag); err != nil {
		t.Fatalf("run: %v\n%s", err, diag.String())
	}
	if want := "through Redis at " + m.Addr(); !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	if strings.Contains(diag.String(), "miniredis") {
		t.Errorf("REDIS_URL is set, yet stderr speaks of miniredis:\n%s", diag.String())
	}
	keys := m.Keys()
	if len(keys) == 0 {
		t.Fatal("the fleet left nothing in Redis")
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "agents:{") && !strings.HasPrefix(k, "rate:agents:{") {
			t.Errorf("unexpected key %q", k)
		}
		if strings.Contains(k, agentstest.DefaultKey) {
			t.Errorf("key %q holds the API key", k)
		}
	}
}

// Input that waiting cannot fix ends the run at once, with its error.
func TestRunFails(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	t.Setenv("REDIS_URL", "")
	tests := []struct {
		name     string
		args     []string
		redisURL string
		is       error  // nil: any error
		says     string // in the error
	}{
		{name: "unknown agent", args: []string{"-agent", "agt_nope", "-duration", "5s"}, is: agents.ErrAgentNotFound},
		{name: "forbidden agent", args: []string{"-agent", agentstest.RestrictedAgent, "-duration", "5s"}, is: agents.ErrForbidden},
		{name: "no workers", args: []string{"-workers", "0"}, says: "-workers: want 1..1000"},
		{name: "no goroutines", args: []string{"-goroutines", "0"}, says: "-goroutines: want 1..100"},
		{name: "too short", args: []string{"-duration", "10ms"}, says: "-duration: want 1s or more"},
		{name: "negative limit", args: []string{"-limit", "-1"}, says: "-limit: want 0"},
		{name: "NaN limit", args: []string{"-limit", "NaN"}, says: "-limit: want 0"},
		{name: "no server rate", args: []string{"-server-rate", "0"}, says: "-server-rate"},
		{name: "stray argument", args: []string{"now"}, says: `unexpected argument "now"`},
		{name: "unknown flag", args: []string{"-nope"}, is: demo.ErrUsage},
		{name: "bad REDIS_URL", redisURL: "http://user:s3cret@localhost:6379", says: "REDIS_URL is not a Redis URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.redisURL != "" {
				t.Setenv("REDIS_URL", tt.redisURL)
			}
			var out, diag strings.Builder
			err := run(context.Background(), tt.args, &out, &diag)
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("run: %v; want an error matching %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("run: %v; want it to say %q", err, tt.says)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows REDIS_URL's password: %v", err)
			}
			if secondLine.MatchString(out.String()) {
				t.Errorf("a failing run went on for a second:\n%s", out.String())
			}
		})
	}
}

// cancelAfter is an output that ends ctx once it has been written a
// line of second n, as a Ctrl-C would.
type cancelAfter struct {
	mu     sync.Mutex
	b      strings.Builder
	line   string
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.b.Write(p)
	if strings.Contains(c.b.String(), c.line) {
		c.cancel()
	}
	return n, err
}

// TestRunInterrupted: Ctrl-C ends the run early, with the summary of what
// ran, and an error that main turns into exit status 130.
func TestRunInterrupted(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	t.Setenv("REDIS_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelAfter{line: "\n   1s ", cancel: cancel}
	var diag strings.Builder
	err := run(ctx, []string{"-duration", "60s", "-workers", "2"}, out, &diag)
	if !errors.Is(err, errInterrupted) {
		t.Fatalf("run: %v; want errInterrupted", err)
	}
	got := out.b.String()
	if !strings.Contains(got, "Summary, 2 workers for ") {
		t.Errorf("no summary after the interrupt:\n%s", got)
	}
	if n := len(secondLine.FindAllString(got, -1)); n != 1 {
		t.Errorf("%d lines a second; want 1:\n%s", n, got)
	}
}

func TestHelp(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out, diag strings.Builder
	if err := run(context.Background(), []string{"-h"}, &out, &diag); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-workers", "-limit", "-duration", "agt_customer_support"} {
		if !strings.Contains(diag.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, diag.String())
		}
	}
}

func TestJain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		xs   []int64
		want float64
	}{
		{[]int64{10, 10, 10, 10}, 1},
		{[]int64{40, 0, 0, 0}, 0.25},
		{[]int64{0, 0}, 1},
		{[]int64{30, 10}, 0.8},
	}
	for _, tt := range tests {
		if got := jain(tt.xs); got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("jain(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
}
