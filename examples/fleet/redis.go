package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// store is where the fleet shares its limit: the Redis REDIS_URL names, or
// a miniredis in this process.
type store struct {
	opts  redis.Options
	where string // for the output: which Redis, never its password
	close func()
}

// client returns a new connection pool to the store, as each process of a
// real fleet would have its own.
func (s *store) client() *redis.Client {
	o := s.opts
	return redis.NewClient(&o)
}

// openRedis reads REDIS_URL, or starts a miniredis when it is unset and
// says so on diag. A Redis that does not answer is only warned about: the
// Limiters pace locally until it does, as they would in production.
func openRedis(ctx context.Context, diag io.Writer) (*store, error) {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		m, err := miniredis.Run()
		if err != nil {
			return nil, fmt.Errorf("fleet: starting miniredis: %w", err)
		}
		fmt.Fprintf(diag, "REDIS_URL is not set: sharing the limit through a miniredis in this process at %s\n", m.Addr())
		fmt.Fprintf(diag, "(set REDIS_URL, e.g. redis://localhost:6379/0, to share it through a real Redis, with other processes too)\n\n")
		return &store{
			opts:  redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true},
			where: "a miniredis in this process",
			close: m.Close,
		}, nil
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		// The error may quote the URL, password and all: say only what
		// is wanted.
		return nil, errors.New("fleet: REDIS_URL is not a Redis URL (want redis://[[user]:password@]host:port[/db], or rediss:// for TLS)")
	}
	// Without it go-redis ignores the deadline of each command the
	// Limiter bounds (agentsredis.Options.Timeout).
	o.ContextTimeoutEnabled = true
	s := &store{opts: *o, where: "Redis at " + o.Addr, close: func() {}}
	rdb := s.client()
	defer rdb.Close()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		fmt.Fprintf(diag, "warning: Redis at %s does not answer (%v): each worker paces alone until it does\n\n", o.Addr, err)
	}
	return s, nil
}
