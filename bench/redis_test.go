package main

import (
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRedisImpls runs a fleet of two Clients of each redis impl for a
// second against the lab's own redis-server, the second one through an
// outage, and checks only that the harness works: every call counted
// once, pages through, Redis back afterwards. It skips when redis-server
// is not installed.
func TestRedisImpls(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not found: install it (Debian: apt-get install redis-server) to test the redis impls")
	}
	r, err := newLabRedis("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	s, _ := shapeByName("httprate")
	for _, c := range []cell{
		{shape: s, impl: impls[implRedis], clients: 2, workers: 4, d: time.Second, redis: r},
		{shape: s, impl: impls[implRedisLearn], clients: 2, workers: 4, d: 1500 * time.Millisecond, redis: r, outage: 300 * time.Millisecond},
	} {
		// One at a time: they share the Redis, which each run flushes.
		res, err := c.run()
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if res.ok < 1 {
			t.Errorf("%s: no call succeeded (errors %d, first %v)", c, res.errs, res.firstErr)
		}
		if res.sent200 < res.ok || res.sent200 > res.ok+res.cut {
			t.Errorf("%s: server sent %d pages; clients counted %d successes and %d cut calls", c, res.sent200, res.ok, res.cut)
		}
		if err := r.ping(time.Second); err != nil {
			t.Errorf("%s: Redis does not answer after the run: %v", c, err)
		}
	}
}

func TestNewLabRedisRejectsAddrWithoutRedis(t *testing.T) {
	t.Parallel()
	_, err := newLabRedis("127.0.0.1:1")
	if err == nil || !strings.HasPrefix(err.Error(), "bench: -redis-addr 127.0.0.1:1") {
		t.Errorf("newLabRedis(127.0.0.1:1) = %v, want a bench: -redis-addr error", err)
	}
}

func TestParseFlagsRedis(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-impl", "redis,redis-learn,sdk"}, ""},
		{[]string{"-impl", "redis", "-redis-outage", "5s"}, ""},
		{[]string{"-impl", "sdk", "-redis-outage", "5s"}, "bench: -redis-outage applies to the redis impls"},
		{[]string{"-impl", "redis", "-redis-outage", "10s"}, "bench: -redis-outage 10s: want less than half"},
		{[]string{"-impl", "redis", "-redis-outage", "-1s"}, "bench: -redis-outage -1s"},
		{[]string{"-impl", "redis", "-redis-outage", "1s", "-redis-addr", "127.0.0.1:6379"}, "bench: -redis-outage kills the lab's own"},
		{[]string{"-impl", "redis,curl"}, "bench: -impl"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && !strings.HasPrefix(got, tc.wantErr) {
			t.Errorf("parseFlags(%q) = %q, want prefix %q", tc.args, got, tc.wantErr)
		}
	}
}

// TestRunLabRedisTable runs the program path with a redis impl briefly
// and checks that its cells reach the table with figures.
func TestRunLabRedisTable(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not found: install it (Debian: apt-get install redis-server) to test the redis impls")
	}
	o, err := parseFlags([]string{"-shapes", "httprate", "-impl", "redis", "-clients", "2", "-runs", "1",
		"-duration", "500ms", "-workers", "2", "-md"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := runLab(o, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var row string
	for l := range strings.Lines(out.String()) {
		if strings.HasPrefix(l, "| httprate | 2 |") {
			row = l
		}
	}
	if cols := strings.Split(row, " | "); len(cols) < 3 || cols[2] == "0" {
		t.Errorf("no figures for the redis cell in the table:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "agentsredis, limit given % of limit") || !strings.Contains(out.String(), "redis: 127.0.0.1:") {
		t.Errorf("output lacks the redis column or the Redis line:\n%s", out.String())
	}
}
