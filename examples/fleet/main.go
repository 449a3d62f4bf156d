// Command fleet shows one API key's rate limit shared by a fleet of
// workers through Redis, with the agentsredis module. It starts -workers
// workers in one process, each with what a separate process would have:
// its own Client, its own Redis connection and its own agentsredis
// Limiter. Each lists sessions in a loop from -goroutines goroutines for
// -duration, all on one API key. Once a second it prints the fleet's
// calls a second and each worker's, with the 429s; at the end, the
// fleet's rate, each worker's share of it, and the errors.
//
// The limit goes through the Redis that REDIS_URL names (as
// redis://[:password@]host:port/db), or, with REDIS_URL unset, through a
// miniredis started in-process, which the program says on stderr. -limit
// gives the limit when it is known; 0 has the fleet learn it, together,
// from the server's 429s or rate-limit headers.
//
// With no AGENTS_BASE_URL it runs against the embedded fake API, which
// allows -server-rate requests a second on the key (burst 5) and answers
// the rest 429 with Retry-After: 1 and no rate-limit headers.
//
//	go run ./fleet                         # learn the limit, 4 workers, 10s
//	go run ./fleet -limit 50 -workers 8    # the limit is known
//	REDIS_URL=redis://localhost:6379/0 go run ./fleet
//
// It exits 0 when the run ends, 1 on an error, 2 on a bad flag, and 130
// when Ctrl-C stopped it (after printing the summary of what ran).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	"github.com/agentsapi/agents-go/examples/internal/demo"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		switch {
		case errors.Is(err, demo.ErrUsage):
			os.Exit(2)
		case errors.Is(err, errInterrupted):
			// The summary is printed; 130 is what shells use for Ctrl-C.
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// errInterrupted ends a run that Ctrl-C stopped after its summary.
var errInterrupted = errors.New("interrupted")

// fakeBurst and fakeRetryAfter shape the embedded fake's limiter, as in
// the rate-limits example.
const (
	fakeBurst      = 5
	fakeRetryAfter = "1"
)

// config is what the flags ask for.
type config struct {
	workers, goroutines int
	duration            time.Duration
	limit, serverRate   float64
	agent               string
}

func run(ctx context.Context, args []string, out, diag io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(diag)
	fs.IntVar(&cfg.workers, "workers", 4, "workers, each with its own Client, Redis connection and Limiter")
	fs.IntVar(&cfg.goroutines, "goroutines", 2, "goroutines listing sessions in each worker")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long the fleet runs, in whole seconds")
	fs.Float64Var(&cfg.limit, "limit", 0, "the API key's limit in requests/s, when known (0: the fleet learns it)")
	fs.Float64Var(&cfg.serverRate, "server-rate", 50, "requests/s the embedded fake allows")
	fs.StringVar(&cfg.agent, "agent", "agt_customer_support", "agent key")
	limitFake := func(s *agentstest.Server) { s.SetRateLimit(cfg.serverRate, fakeBurst, fakeRetryAfter) }
	if help, err := demo.Parse(fs, args, limitFake); help || err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("fleet: unexpected argument %q (see -h)", fs.Arg(0))
	case cfg.workers < 1 || cfg.workers > 1000:
		return fmt.Errorf("fleet: -workers: want 1..1000, got %d", cfg.workers)
	case cfg.goroutines < 1 || cfg.goroutines > 100:
		return fmt.Errorf("fleet: -goroutines: want 1..100, got %d", cfg.goroutines)
	case cfg.duration < time.Second:
		return fmt.Errorf("fleet: -duration: want 1s or more, got %v", cfg.duration)
	case !(cfg.limit >= 0): // NaN too
		return fmt.Errorf("fleet: -limit: want 0 (learn it) or more, got %v", cfg.limit)
	case !(cfg.serverRate > 0):
		return fmt.Errorf("fleet: -server-rate: want more than 0, got %v", cfg.serverRate)
	}
	cfg.duration = cfg.duration.Round(time.Second)

	// The fake, when there is no AGENTS_BASE_URL; demo.Client says so.
	var srv *agentstest.Server
	_, done, err := demo.Client(func(s *agentstest.Server) {
		srv = s
		s.KeepLog(false)
		limitFake(s)
	})
	if err != nil {
		return err
	}
	defer done()
	apiKey := strings.TrimSpace(os.Getenv("AGENTS_API_KEY"))
	if srv != nil {
		apiKey = agentstest.DefaultKey
	}

	store, err := openRedis(ctx, diag)
	if err != nil {
		return err
	}
	defer store.close()

	// One handler, so that the workers' log lines do not interleave.
	logger := slog.New(slog.NewTextHandler(diag, nil))
	ws := make([]*worker, cfg.workers)
	for i := range ws {
		w := &worker{name: fmt.Sprintf("w%d", i+1), rdb: store.client()}
		defer w.rdb.Close()
		w.limiter = agentsredis.New(w.rdb, apiKey, agentsredis.Options{
			Limit:  cfg.limit,
			Logger: logger.With("worker", w.name),
		})
		opts := []agents.Option{agents.WithPacer(w.limiter.Pacer), agents.WithHooks(w.hooks())}
		if srv != nil {
			w.client, err = srv.NewRealTimeClient(opts...)
		} else {
			w.client, err = agents.NewClient(opts...)
		}
		if err != nil {
			return err
		}
		ws[i] = w
	}

	intro(out, cfg, srv != nil, store.where)
	res, err := load(ctx, ws, cfg, out)
	if err != nil {
		return err
	}
	var fake *agentstest.Stats
	if srv != nil {
		st := srv.Stats()
		fake = &st
	}
	summary(out, cfg, res, fake)
	if ctx.Err() != nil {
		return errInterrupted
	}
	return nil
}

// intro says what is about to run, against what, and for how long.
func intro(out io.Writer, cfg config, fake bool, where string) {
	fmt.Fprintf(out, "%d workers, each with its own Client, Redis connection and agentsredis Limiter, %d goroutines each, on one API key for %v (Ctrl-C stops it).\n",
		cfg.workers, cfg.goroutines, cfg.duration)
	if cfg.limit > 0 {
		fmt.Fprintf(out, "The limit, %g requests/s, is given (-limit): the fleet shares one budget of 98%% of it through %s.\n", cfg.limit, where)
	} else {
		fmt.Fprintf(out, "The limit is not given (-limit 0): the fleet learns it together, through %s.\n", where)
	}
	if fake {
		fmt.Fprintf(out, "The server allows %g requests/s (burst %d) on the key and answers the rest 429 with Retry-After: %s, without rate-limit headers.\n",
			cfg.serverRate, fakeBurst, fakeRetryAfter)
	}
}
