// Command bench is the rate-limit scenario lab of issue 10: it runs the
// SDK's default Client side by side with plain go-retryablehttp against
// loopback servers behind the rate limiters Go services deploy, and
// prints how much of each limit they get through. See README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// options are the command line, validated.
type options struct {
	shapes           []shape
	impls            []string
	clients          []int
	runs             int
	d                time.Duration
	workers          int
	unlimitedWorkers int
	parallel         int
	md, trace        bool
	redisAddr        string        // -redis-addr: a Redis to use instead of starting one
	redisOutage      time.Duration // -redis-outage: Redis down this long mid-run
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := runLab(opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var names []string
	for _, s := range shapes {
		names = append(names, s.name)
	}
	shapeList := fs.String("shapes", strings.Join(names, ","), "comma-separated shapes to run")
	implFlag := fs.String("impl", "both", "comma list of sdk, retryablehttp, redis, redis-learn; both = sdk,retryablehttp")
	clientList := fs.String("clients", "1", "comma-separated fleet sizes: independent Clients sharing one limiter, e.g. 1,4,8")
	runs := fs.Int("runs", 5, "runs per cell; the table shows the median and min..max")
	d := fs.Duration("duration", 20*time.Second, "length of each run")
	workers := fs.Int("workers", 16, "goroutines per cell, split evenly over the fleet's Clients")
	unlimitedWorkers := fs.Int("unlimited-workers", 64, "goroutines in the unlimited cell")
	parallel := fs.Int("parallel", 1, "rate-limited cells run at once (the unlimited cell always runs alone)")
	md := fs.Bool("md", false, "print the table as Markdown")
	trace := fs.Bool("trace", false, "print ok/429/err per second after every run (use with one shape and -runs 1)")
	redisAddr := fs.String("redis-addr", "", "host:port of a scratch Redis for the redis impls, FLUSHALLed before each run; default: start redis-server on a free loopback port")
	redisOutage := fs.Duration("redis-outage", 0, "kill the lab's redis-server at the middle of each redis run and start it again after this long")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	o := options{runs: *runs, d: *d, workers: *workers, unlimitedWorkers: *unlimitedWorkers, parallel: *parallel, md: *md, trace: *trace,
		redisAddr: *redisAddr, redisOutage: *redisOutage}
	for _, n := range strings.Split(*shapeList, ",") {
		s, ok := shapeByName(strings.TrimSpace(n))
		if !ok {
			return options{}, fmt.Errorf("bench: -shapes: unknown shape %q; known: %s", n, strings.Join(names, ","))
		}
		o.shapes = append(o.shapes, s)
	}
	for _, n := range strings.Split(*implFlag, ",") {
		switch n = strings.TrimSpace(n); n {
		case implSDK, implRetryable, implRedis, implRedisLearn:
			if !slices.Contains(o.impls, n) {
				o.impls = append(o.impls, n)
			}
		case "both":
			for _, b := range []string{implSDK, implRetryable} {
				if !slices.Contains(o.impls, b) {
					o.impls = append(o.impls, b)
				}
			}
		default:
			return options{}, fmt.Errorf("bench: -impl %q: want a comma list of sdk, retryablehttp, redis, redis-learn, or both", *implFlag)
		}
	}
	for _, f := range strings.Split(*clientList, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 || k > *workers {
			return options{}, fmt.Errorf("bench: -clients %q: each fleet size must be a whole number from 1 to -workers (%d)", f, *workers)
		}
		o.clients = append(o.clients, k)
	}
	switch {
	case o.runs < 1 || o.runs > 100:
		return options{}, fmt.Errorf("bench: -runs %d: want 1..100", o.runs)
	case o.d < 100*time.Millisecond || o.d > 10*time.Minute:
		return options{}, fmt.Errorf("bench: -duration %v: want 100ms..10m", o.d)
	case o.workers < 1 || o.workers > 1024 || o.unlimitedWorkers < 1 || o.unlimitedWorkers > 1024:
		return options{}, errors.New("bench: -workers and -unlimited-workers: want 1..1024")
	case o.parallel < 1 || o.parallel > 16:
		return options{}, fmt.Errorf("bench: -parallel %d: want 1..16", o.parallel)
	case o.redisOutage < 0 || o.redisOutage > 0 && o.redisOutage >= o.d/2:
		return options{}, fmt.Errorf("bench: -redis-outage %v: want less than half of -duration (%v), as it starts at the middle of a run", o.redisOutage, o.d)
	case o.redisOutage > 0 && o.redisAddr != "":
		return options{}, errors.New("bench: -redis-outage kills the lab's own redis-server: it cannot be used with -redis-addr")
	case o.redisOutage > 0 && !o.usesRedis():
		return options{}, errors.New("bench: -redis-outage applies to the redis impls: add -impl redis or redis-learn")
	}
	return o, nil
}

// usesRedis reports whether any impl shares its limit through Redis.
func (o options) usesRedis() bool {
	return slices.Contains(o.impls, implRedis) || slices.Contains(o.impls, implRedisLearn)
}

// cell is the rate-limited cell of shape s, impl n and fleet size k; the
// table finds its results by the same cell's name.
func (o options) cell(s shape, n string, k int, r *labRedis) cell {
	c := cell{shape: s, impl: impls[n], clients: k, workers: o.workers, d: o.d}
	if c.impl.redis {
		c.redis, c.outage = r, o.redisOutage
	}
	return c
}

// plan lists the cells: for every rate-limited shape each implementation
// and fleet size; for the unlimited shape one Client of each
// implementation against the hand-written baseline (the redis impls have
// no limit to share there and are left out).
func (o options) plan(r *labRedis) (limited, unlimited []cell) {
	for _, s := range o.shapes {
		if s.name == "unlimited" {
			names := []string{implSDK, implHand}
			hasSDK, hasRetry := slices.Contains(o.impls, implSDK), slices.Contains(o.impls, implRetryable)
			if hasRetry {
				names = append(names, implRetryable)
			}
			if hasSDK && hasRetry {
				names = append(names, implSDKSharedT)
			}
			for _, n := range names {
				unlimited = append(unlimited, cell{shape: s, impl: impls[n], clients: 1, workers: o.unlimitedWorkers, d: o.d})
			}
			continue
		}
		for _, k := range o.clients {
			for _, n := range o.impls {
				limited = append(limited, o.cell(s, n, k, r))
			}
		}
	}
	return limited, unlimited
}

func runLab(o options, stdout, progress io.Writer) error {
	var rdb *labRedis
	if o.usesRedis() {
		var err error
		if rdb, err = newLabRedis(o.redisAddr); err != nil {
			return err
		}
		defer rdb.close()
	}
	limited, unlimited := o.plan(rdb)
	// The redis cells share one Redis, flushed before each run: they run
	// one at a time, after the others.
	var shared, alone []cell
	for _, c := range limited {
		if c.impl.redis {
			alone = append(alone, c)
		} else {
			shared = append(shared, c)
		}
	}
	total := estimate(len(shared)*o.runs, (len(alone)+len(unlimited))*o.runs, o.d, o.parallel)
	fmt.Fprintf(stdout, "agents-go rate-limit lab: %d rate-limited cells (%s × %s × clients %s, %d goroutines) and %d unlimited cells (%d goroutines), %d runs of %v each; %d rate-limited runs at once%s; expect about %v\n",
		len(limited), shapeNames(o.shapes), strings.Join(o.impls, "+"), joinInts(o.clients), o.workers,
		len(unlimited), o.unlimitedWorkers, o.runs, o.d, o.parallel, parallelNote(o.parallel), total.Round(time.Second))
	fmt.Fprintf(stdout, "versions: %s\n", versions())
	if rdb != nil {
		fmt.Fprintf(stdout, "redis: %s%s\n", rdb.describe(), outageNote(o.redisOutage))
	}

	results := make(map[string][]metrics)
	var mu sync.Mutex
	record := func(c cell, r result, err error) error {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			return err
		}
		m := c.metrics(r)
		results[c.String()] = append(results[c.String()], m)
		fmt.Fprintf(progress, "  %-50s ok %6d  err %5d  429s %7d  %s\n", c, r.ok, r.errs, r.sent429, summary(c, m))
		if o.trace {
			printTrace(progress, c, r)
		}
		return nil
	}

	// Run-major order, so that whatever else loads the machine meanwhile
	// falls on every cell alike rather than on the last ones.
	for run := range o.runs {
		if err := runBatch(shared, o.parallel, record); err != nil {
			return err
		}
		if err := runBatch(alone, 1, record); err != nil {
			return err
		}
		if err := runBatch(unlimited, 1, record); err != nil {
			return err
		}
		fmt.Fprintf(progress, "run %d of %d done\n", run+1, o.runs)
	}
	printTables(stdout, o, limited, unlimited, results)
	return nil
}

// runBatch runs every cell once, parallel at a time.
func runBatch(cells []cell, parallel int, record func(cell, result, error) error) error {
	sem := make(chan struct{}, parallel)
	errc := make(chan error, len(cells))
	var wg sync.WaitGroup
	for _, c := range cells {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := c.run()
			errc <- record(c, r, err)
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

func summary(c cell, m metrics) string {
	s := fmt.Sprintf("%.0f calls/s", m.callsPerS)
	if lim := c.shape.limit(c.d); lim > 0 {
		s = fmt.Sprintf("%.0f%% of limit", m.pctLimit)
	}
	if m.firstError != "" {
		s += "  first error: " + m.firstError
	}
	return s
}

func printTrace(w io.Writer, c cell, r result) {
	fmt.Fprintf(w, "    trace %s: second, ok, 429 (server), err\n", c)
	for i := 0; i*int(time.Second) < int(r.elapsed); i++ {
		fmt.Fprintf(w, "    %3d %5d %6d %5d\n", i, r.okPerSec.at(i), r.tooManyPerSec.at(i), r.errPerSec.at(i))
	}
}

func outageNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("; killed (SIGKILL) at the middle of each redis run and started again on the same port %v later", d)
}

func parallelNote(p int) string {
	if p == 1 {
		return ""
	}
	return " (several cells share the CPU: fine for 50/s servers, not for exact figures)"
}

func shapeNames(ss []shape) string {
	var n []string
	for _, s := range ss {
		if s.name != "unlimited" {
			n = append(n, s.name)
		}
	}
	return "{" + strings.Join(n, ",") + "}"
}

func joinInts(xs []int) string {
	var s []string
	for _, x := range xs {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ",")
}

// versions names the libraries the lab was built with, so that a table
// can be traced to what it measured.
func versions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (no build info)"
	}
	var out []string
	for _, m := range bi.Deps {
		switch m.Path {
		case "github.com/agentsapi/agents-go", "github.com/agentsapi/agents-go/redis", "github.com/redis/go-redis/v9",
			"github.com/go-redis/redis_rate/v10", "github.com/hashicorp/go-retryablehttp", "github.com/go-chi/httprate",
			"github.com/go-chi/chi/v5", "github.com/sethvargo/go-limiter", "github.com/ulule/limiter/v3", "golang.org/x/time":
			v := m.Version
			if m.Replace != nil {
				v = "=> " + m.Replace.Path
			}
			out = append(out, strings.TrimPrefix(m.Path, "github.com/")+" "+v)
		}
	}
	return bi.GoVersion + ", " + strings.Join(out, ", ")
}
