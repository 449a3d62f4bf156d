package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strconv"

	"github.com/agentsapi/agents-go"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

const (
	implRedis      = "redis"
	implRedisLearn = "redis-learn"
)

// newRedisCaller is the default Client pacing with the fleet through an
// agentsredis Limiter: given the shape's true limit when known is set,
// learning it (Options{}) otherwise. Every client gets its own go-redis
// client and its own Limiter, as a separate process would, so nothing
// but Redis is shared between the fleet's Clients.
func newRedisCaller(known bool) func(target) (func(context.Context) error, func(), error) {
	return func(t target) (func(context.Context) error, func(), error) {
		if t.redis == nil {
			return nil, nil, errors.New("bench: the redis impls need the lab's Redis")
		}
		var opts agentsredis.Options
		if known {
			opts.Limit = t.limit
		}
		if b, err := strconv.Atoi(os.Getenv("LAB_REDIS_BURST")); err == nil {
			opts.Burst = b // to study how a burst makes up for late asks
		}
		if os.Getenv("LAB_PACING") != "" {
			// The Limiter's once-per-outage lines, to see when each
			// process fell back and came back.
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		}
		rdb := t.redis.client()
		l := agentsredis.New(rdb, apiKey, opts)
		call, stop, err := sdkCaller(t.baseURL, agents.WithPacer(l.Pacer))
		if err != nil {
			rdb.Close()
			return nil, nil, err
		}
		return call, func() { stop(); _ = rdb.Close() }, nil
	}
}
