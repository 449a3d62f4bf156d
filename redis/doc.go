// Package agentsredis lets a fleet of processes share one API key's rate
// limit through Redis, so that many workers on one key pace as one Client
// would instead of each backing off to a crumb.
//
// Make one [Limiter] per API key and Redis, and give its Pacer method to
// each Client:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
//	limiter := agentsredis.New(rdb, apiKey, agentsredis.Options{Limit: 50})
//	c, err := agents.NewClient(agents.WithAPIKey(apiKey), agents.WithPacer(limiter.Pacer))
//
// # What is shared
//
// A known limit ([Options.Limit]) is one GCRA budget for the whole fleet
// (github.com/go-redis/redis_rate), spent so that no second holds more
// than 98% of the limit, burst included. A 429 with
// Retry-After, received by any process, holds every process until that
// time, bounded by [Options.MaxHold]. An unknown limit is read from the
// server's rate-limit headers by whichever process sees them first, or,
// when the server sends none, learnt from 429s: the fleet starts slowly
// and sends twice what got through the second before, until the first
// 429; then it drops to 85% of the rate the server accepted in the half
// second before the 429, climbs back to 95% of it within seconds and stays
// there, probing past it only after 10 s: each 429 costs the fleet a hold
// of the server's Retry-After, so the law keeps them rare. That state
// lives in Redis, timed by Redis's clock, so the processes' clocks need
// not agree.
//
// # When Redis fails
//
// A Redis command that fails or outlasts [Options.Timeout] makes each
// Client pace locally: at the share of the fleet's rate it was sending at
// last, and through its built-in pacer, which holds after its own 429s.
// The Limiter logs the failure once, tries Redis again every quarter of a second, and
// logs when it is back. Calls go on meanwhile; none fails because Redis
// did.
//
// Redis holds a hash of the API key, never the key itself.
package agentsredis
