package agentsredis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	agents "github.com/agentsapi/agents-go"
)

// Options configures a [Limiter]. The zero value learns the limit and
// uses the defaults below.
type Options struct {
	// Limit is the API key's limit in requests per second, when known;
	// the fleet then sends no more than 98% of it in any second,
	// together (see Burst). 0 means unknown: the
	// fleet reads it from the server's rate-limit headers, or, when the
	// server sends none, learns it from 429s as one Client would.
	Limit float64
	// Burst is how many requests the fleet may send at once after a
	// quiet spell, when the limit is known (given, or read from headers);
	// 0 means 2. A burst of one would lose, on every request, the Redis
	// round trip by which the slot was taken late. The fleet's rate makes
	// room for the burst: no window of the server's holds more than 98%
	// of its limit, burst included (at 50/s: 48/s and bursts of 2). While
	// the limit is learnt from 429s, and once any 429 has come, the burst
	// is 1: a server whose tolerance is unknown, or shown to be none, may
	// refuse two requests sent together.
	Burst int
	// Prefix starts every Redis key the Limiter writes; "" means
	// "agents:". Keys carry a hash of the API key in braces, so that a
	// Redis Cluster keeps one key's state in one slot.
	Prefix string
	// Timeout bounds each Redis command, as does half the time left
	// before the caller's deadline; 0 means 100ms. A command that fails
	// or times out makes the Limiter pace locally (see [Limiter]). The
	// caller stops waiting for it either way; with ContextTimeoutEnabled
	// set on the go-redis client, go-redis stops the command too, rather
	// than let it run out its own ReadTimeout in the background.
	Timeout time.Duration
	// MaxHold bounds the fleet-wide hold after a 429, as the Client
	// bounds its own; 0 means one minute.
	MaxHold time.Duration
	// Logger hears when Redis becomes unreachable and when it is back;
	// nil discards.
	Logger *slog.Logger
}

// A Limiter shares one API key's limit between processes through Redis:
// every Client made with its [Limiter.Pacer], in any process using the
// same Redis and API key, paces against one shared budget (GCRA, by
// github.com/go-redis/redis_rate), holds back together when any of them
// gets a 429 with Retry-After, and, when the limit is not given, shares
// what is learnt of it.
//
// When Redis cannot be reached, each Client paces locally, with its
// built-in pacer and at the share of the limit it was last sending at, so
// that a fleet neither stops nor floods the server; the Limiter logs once,
// tries Redis again every quarter of a second, and logs again when it is back.
//
// Redis holds a SHA-256 hash of the API key, never the key.
//
// A Limiter is safe for concurrent use; one Limiter may serve many
// Clients.
type Limiter struct {
	rdb  redis.UniversalClient
	gcra *redis_rate.Limiter
	opts Options
	// state is the hash of the fleet's shared state, gcraKey the key of
	// the GCRA budget (redis_rate prefixes it with "rate:"), accepted the
	// count of accepted requests by second while the fleet learns.
	state, gcraKey, accepted string

	mu        sync.Mutex
	down      bool      // Redis failed last time
	nextTry   time.Time // while down: when to try Redis again
	fails     uint64    // Redis failures so far
	published published // what this process last wrote of the headers
}

// published is a limit read from headers, as written to Redis.
type published struct {
	limit  int
	window time.Duration
}

// New returns a Limiter that shares the limit of apiKey through rdb, a
// *redis.Client, *redis.ClusterClient or any other go-redis client.
func New(rdb redis.UniversalClient, apiKey string, opts Options) *Limiter {
	if opts.Burst < 1 {
		opts.Burst = 2
	}
	if opts.Prefix == "" {
		opts.Prefix = "agents:"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	if opts.MaxHold <= 0 {
		opts.MaxHold = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sum := sha256.Sum256([]byte(apiKey))
	base := opts.Prefix + "{" + hex.EncodeToString(sum[:16]) + "}:"
	return &Limiter{
		rdb:      rdb,
		gcra:     redis_rate.NewLimiter(rdb),
		opts:     opts,
		state:    base + "state",
		gcraKey:  base + "gcra",
		accepted: base + "accepted",
	}
}

// Pacer is the function to give [agents.WithPacer]: it returns the Pacer
// through which one Client paces with the fleet, falling back to local,
// the Client's built-in pacer, when Redis cannot be reached.
//
//	c, err := agents.NewClient(agents.WithPacer(limiter.Pacer))
func (l *Limiter) Pacer(local agents.Pacer) agents.Pacer {
	p := &pacer{l: l, local: local, head: make(chan struct{}, 1)}
	p.told = p.answered
	return p
}

// Pacing constants. The headroom and the floor are the built-in pacer's.
// Without headers, each 429 costs the fleet a hold of the server's
// Retry-After (often a whole second), so the learnt rate must make 429s
// rare rather than cheap. At a 429 the fleet measures the rate the server
// accepted over the last half second (or takes the rate the 429 came at),
// drops to 85% of it and climbs within seconds to 95% of it; after the
// slow start's 429 it probes past it at once, after a later one only
// after 10 s, slowly at first.
const (
	headroom   = 0.98 // of a known limit, burst included, as the most in any window
	startRate  = 8.0  // requests a second, when nothing is known yet
	startGrows = 2.0  // what got through in the last second, times this, in the slow start and when probing
	maxRate    = 1e4
	minRate    = 0.5
	cutTo      = 0.85 // of the rate a 429 came at, right after it
	plateau    = 0.95 // of it, reached after rampUp
	rampUp     = 4 * time.Second
	probeAfter = 10 * time.Second
	probeEvery = 5 * time.Second // each adds 5% of the rate, and more as it goes on
	// firstProbeEvery is probeEvery after the slow start's cut, which
	// probing follows at once.
	firstProbeEvery = 2 * time.Second
	minCutGap       = time.Second
	stateTTL        = time.Hour // idle fleets leave nothing behind for long
	retryRedis      = 250 * time.Millisecond
)

// shared is the fleet's state as read from Redis, times relative to
// Redis's clock so that the processes' clocks need not agree.
type shared struct {
	hold     time.Duration // left of the fleet-wide hold; ≤ 0 when none
	limit    int           // from headers; 0 when unknown
	window   time.Duration
	wmax     float64       // the rate when a 429 last cut it
	sinceCut time.Duration // -1 when no 429 has cut it yet
	accepted float64       // requests a second the server accepted lately, while learning
	strict   bool          // a 429 came: the server takes no burst
	cuts     int           // 429s that cut the learnt rate
}

// pace is the fleet's rate in requests a second, and its burst.
func (l *Limiter) pace(s shared) (r float64, burst int) {
	switch t := s.sinceCut; {
	case l.opts.Limit > 0:
		return l.room(l.opts.Limit, time.Second, l.burst(s)), l.burst(s)
	case s.limit > 0 && s.window > 0:
		return l.room(float64(s.limit), s.window, l.burst(s)), l.burst(s)
	case t < 0:
		// Slow start, shared: the fleet may send twice what got through
		// in the last second, until the first 429. Going by what got
		// through, not by time, an idle fleet does not wake up unpaced.
		r = max(startRate, startGrows*s.accepted)
	case t < rampUp:
		r = s.wmax * (cutTo + (plateau-cutTo)*t.Seconds()/rampUp.Seconds())
	case t < probeAfter && s.cuts > 1:
		r = s.wmax * plateau
	default:
		// The first cut comes from the slow start, whose last half
		// second may still have been climbing: what it measured is a
		// floor, so probing starts at once and goes faster. A later cut
		// came from a rate held for seconds: it is trusted for a while.
		after, every := probeAfter, probeEvery
		if s.cuts <= 1 {
			after, every = rampUp, firstProbeEvery
		}
		x := (t - after).Seconds() / every.Seconds()
		r = s.wmax * (plateau + 0.05*x*(1+x/4))
		// Probing goes only as far past what got through as the slow
		// start would: a fleet idle for minutes must not come back at
		// a rate it never tried.
		r = min(r, max(s.wmax*plateau, startGrows*s.accepted))
	}
	return min(max(r, minRate), maxRate), 1
}

// burst is Options.Burst, or 1 once a 429 has shown that the server
// refuses requests sent closer than its rate allows (a token bucket with no
// burst): two requests let go together after every hold would each time
// draw the 429 that holds the fleet again.
func (l *Limiter) burst(s shared) int {
	if s.strict {
		return 1
	}
	return l.opts.Burst
}

// room is the rate that keeps any window of the server's, of n requests
// per w, at no more than 98% of n with the fleet's burst spent in it too;
// not under half that, so that a burst too large for a small limit slows
// the fleet but cannot stop it. It is bounded as a learnt rate is: one
// absurd header must neither lift pacing nor stop the fleet.
func (l *Limiter) room(n float64, w time.Duration, burst int) float64 {
	r := (headroom*n - float64(burst-1)) / w.Seconds()
	r = max(r, headroom*n/w.Seconds()/2)
	return min(max(r, minRate), maxRate)
}

// limit is the GCRA limit for rate r: redis_rate counts whole requests
// per period, so the period is stretched to keep a tenth of a request a
// second.
func limit(r float64, burst int) redis_rate.Limit {
	n := 1
	if r > 0 { // and not NaN; bounded before the conversion, which could wrap
		n = max(int(math.Round(min(r, maxRate)*10)), 1)
	}
	return redis_rate.Limit{Rate: n, Period: 10 * time.Second, Burst: burst}
}

// usable reports whether to try Redis now; while it is down, one caller
// every retryRedis is let try. gen is the count of failures so far, for
// stillUsable.
func (l *Limiter) usable(now time.Time) (ok bool, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.down || !now.Before(l.nextTry) {
		l.nextTry = now.Add(retryRedis)
		return true, l.fails
	}
	return false, l.fails
}

// stillUsable reports whether Redis has not failed since usable said gen:
// callers queued for the head while it found Redis stalled must not each
// try it in turn, every one waiting out the timeout.
func (l *Limiter) stillUsable(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fails == gen
}

// failed records that Redis did not answer, logging the first failure.
func (l *Limiter) failed(err error) {
	l.mu.Lock()
	first := !l.down
	l.down, l.nextTry = true, time.Now().Add(retryRedis)
	l.fails++
	l.published = published{} // Redis may come back empty
	l.mu.Unlock()
	if first {
		l.opts.Logger.Warn("agentsredis: Redis unreachable; pacing locally until it is back", slog.String("error", err.Error()))
	}
}

// worked records that Redis answered, logging a recovery.
func (l *Limiter) worked() {
	l.mu.Lock()
	back := l.down
	l.down = false
	l.mu.Unlock()
	if back {
		l.opts.Logger.Info("agentsredis: Redis reachable again; pacing with the fleet")
	}
}

// cmdCtx bounds one Redis command: by Options.Timeout, and by half the
// time left to ctx's deadline, so that a stalled Redis is given up on
// while the caller still has time to pace locally and send. Bounded by
// the deadline alone, every call of a caller whose deadline is shorter
// than the timeout failed with it, and Redis was never marked down.
func (l *Limiter) cmdCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := l.opts.Timeout
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl)/2)
	}
	return context.WithTimeout(ctx, d)
}

// do runs one Redis command bounded by cmdCtx. The command runs on a
// goroutine of its own, so that the bound, and the caller's cancel, end
// the wait at once even when go-redis does not honour the context (a
// client made without ContextTimeoutEnabled, go-redis's default, waits
// out its ReadTimeout, 3 s); such a command then ends in the background
// and its result is dropped. What f writes may be read only when do
// returns nil: after an error f may still be running.
func (l *Limiter) do(ctx context.Context, f func(context.Context) error) error {
	cctx, cancel := l.cmdCtx(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(cctx) }()
	select {
	case err := <-done:
		return err
	case <-cctx.Done():
		select {
		case err := <-done: // it ended just in time
			return err
		default:
			return cctx.Err()
		}
	}
}
