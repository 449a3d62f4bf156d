package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/sethvargo/go-limiter/httplimit"
	"github.com/sethvargo/go-limiter/memorystore"
	ulimiter "github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	"golang.org/x/time/rate"
)

// A shape is one kind of server-side limiter. Every shape's limit is
// keyed by a constant, so that all clients of a cell (a fleet included)
// share it, as processes sharing one API key would.
type shape struct {
	name string
	// what says in a few words what the limiter models, for the table.
	what string
	// limit returns the successful calls per second the shape allows over
	// a run of duration d, the denominator of "% of limit"; 0 means none
	// (the unlimited shape, reported in calls/s instead).
	limit func(d time.Duration) float64
	// wrap puts the limiter in front of next. The returned func releases
	// what the limiter holds (goroutines, stores); d is the run's length.
	wrap func(next http.Handler, d time.Duration) (http.Handler, func(), error)
}

// limitPerSecond is the rate every rate-limited shape enforces, as in
// issue 10's table.
const limitPerSecond = 50

func fixedLimit(r float64) func(time.Duration) float64 {
	return func(time.Duration) float64 { return r }
}

var noRelease = func() {}

// shapes lists every shape in the order the table prints them.
var shapes = []shape{
	{
		name:  "httprate",
		what:  "go-chi/httprate sliding window 50 per 1 s",
		limit: fixedLimit(limitPerSecond),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			// LimitBy with a constant key is LimitAll's non-deprecated
			// spelling: one window for every client.
			return httprate.LimitBy(limitPerSecond, time.Second, httprate.Key("*"))(next), noRelease, nil
		},
	},
	{
		name:  "bucket-1",
		what:  "token bucket 50/s, burst 1, Retry-After from the reservation",
		limit: fixedLimit(limitPerSecond),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			lim := rate.NewLimiter(limitPerSecond, 1)
			return bucketHandler(next, func() *rate.Limiter { return lim }), noRelease, nil
		},
	},
	{
		name:  "fixed-window",
		what:  "fixed window of 50 per wall-clock second",
		limit: fixedLimit(limitPerSecond),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			w := &fixedWindow{limit: limitPerSecond, length: time.Second}
			return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				ok, _, reset := w.take(time.Now())
				if !ok {
					rw.Header().Set("Retry-After", ceilSeconds(reset))
					tooMany(rw)
					return
				}
				next.ServeHTTP(rw, r)
			}), noRelease, nil
		},
	},
	{
		name:  "concurrency",
		what:  "concurrency cap: 4 in flight × 20 ms each (ideal 200/s)",
		limit: fixedLimit(200),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			throttle := middleware.ThrottleWithOpts(middleware.ThrottleOpts{
				Limit:          4,
				BacklogLimit:   0,
				BacklogTimeout: time.Second,
				RetryAfterFn:   func(bool) time.Duration { return time.Second },
			})
			return throttle(slow(next, 20*time.Millisecond)), noRelease, nil
		},
	},
	{
		name:  "go-limiter",
		what:  `sethvargo/go-limiter (Retry-After as a date in "UTC")`,
		limit: fixedLimit(limitPerSecond),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			store, err := memorystore.New(&memorystore.Config{Tokens: limitPerSecond, Interval: time.Second})
			if err != nil {
				return nil, nil, err
			}
			mw, err := httplimit.NewMiddleware(store, func(*http.Request) (string, error) { return "*", nil })
			if err != nil {
				return nil, nil, err
			}
			release := func() { _ = store.Close(context.Background()) }
			return mw.Handle(next), release, nil
		},
	},
	{
		name:  "ulule",
		what:  "ulule/limiter v3 (no Retry-After at all)",
		limit: fixedLimit(limitPerSecond),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			// The store's cleaner goroutine ends when the store is
			// garbage collected; a long interval keeps it idle till then.
			store := memory.NewStoreWithOptions(ulimiter.StoreOptions{Prefix: "lab", CleanUpInterval: time.Hour})
			lim := ulimiter.New(store, ulimiter.Rate{Period: time.Second, Limit: limitPerSecond})
			mw := stdlib.NewMiddleware(lim, stdlib.WithKeyGetter(func(*http.Request) string { return "*" }))
			return mw.Handler(next), noRelease, nil
		},
	},
	{
		name: "changing",
		what: "token bucket 50/s then 25/s from half time, burst 5",
		limit: func(time.Duration) float64 {
			return (limitPerSecond + limitPerSecond/2) / 2.0 // time-weighted
		},
		wrap: func(next http.Handler, d time.Duration) (http.Handler, func(), error) {
			lim := rate.NewLimiter(limitPerSecond, 5)
			switchAt := time.Now().Add(d / 2)
			var once sync.Once
			current := func() *rate.Limiter {
				if time.Now().After(switchAt) {
					once.Do(func() { lim.SetLimit(limitPerSecond / 2) })
				}
				return lim
			}
			return bucketHandler(next, current), noRelease, nil
		},
	},
	{
		name:  "ietf",
		what:  "fixed window 50/s, only IETF RateLimit headers",
		limit: fixedLimit(limitPerSecond),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			// Windows start when the server does, not on the wall-clock
			// second, as many real limiters' do.
			w := &fixedWindow{limit: limitPerSecond, length: time.Second, origin: time.Now()}
			policy := fmt.Sprintf(`"default";q=%d;w=1`, limitPerSecond)
			return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				ok, remaining, reset := w.take(time.Now())
				h := rw.Header()
				h.Set("RateLimit-Policy", policy)
				h.Set("RateLimit", fmt.Sprintf(`"default";r=%d;t=%s`, remaining, ceilSeconds(reset)))
				if !ok {
					h.Set("Retry-After", ceilSeconds(reset))
					tooMany(rw)
					return
				}
				next.ServeHTTP(rw, r)
			}), noRelease, nil
		},
	},
	{
		name:  "unlimited",
		what:  "no limiter: 64 goroutines, SDK vs hand-written net/http",
		limit: fixedLimit(0),
		wrap: func(next http.Handler, _ time.Duration) (http.Handler, func(), error) {
			return next, noRelease, nil
		},
	},
}

func shapeByName(name string) (shape, bool) {
	for _, s := range shapes {
		if s.name == name {
			return s, true
		}
	}
	return shape{}, false
}

// bucketHandler refuses what the token bucket cannot serve now, with a
// Retry-After of the reservation's delay rounded up to whole seconds and
// no other rate-limit header.
func bucketHandler(next http.Handler, lim func() *rate.Limiter) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		now := time.Now()
		l := lim()
		res := l.ReserveN(now, 1)
		if delay := res.DelayFrom(now); !res.OK() || delay > 0 {
			res.CancelAt(now)
			rw.Header().Set("Retry-After", ceilSeconds(delay))
			tooMany(rw)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// fixedWindow counts requests per window of length, windows starting at
// origin (the zero time: whole Unix seconds, i.e. the wall clock).
type fixedWindow struct {
	limit  int
	length time.Duration
	origin time.Time

	mu     sync.Mutex
	window int64
	count  int
}

// take counts one request at now and says whether it fits, how many
// more fit in this window, and how long until the next one starts.
func (w *fixedWindow) take(now time.Time) (ok bool, remaining int, reset time.Duration) {
	since := now.Sub(w.origin)
	if w.origin.IsZero() {
		since = time.Duration(now.UnixNano())
	}
	idx := int64(since / w.length)
	reset = w.length - since%w.length
	w.mu.Lock()
	defer w.mu.Unlock()
	if idx != w.window {
		w.window, w.count = idx, 0
	}
	if w.count >= w.limit {
		return false, 0, reset
	}
	w.count++
	return true, w.limit - w.count, reset
}

// ceilSeconds renders d as whole seconds rounded up, as Retry-After's
// delay-seconds form wants.
func ceilSeconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}

func tooMany(rw http.ResponseWriter) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusTooManyRequests)
	_, _ = rw.Write([]byte(`{"error":{"code":"rate_limit_exceeded","message":"rate limit exceeded"}}`))
}

// slow makes every accepted request take d, as a server whose capacity
// is a number of workers does; a cancelled request stops waiting.
func slow(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		next.ServeHTTP(rw, r)
	})
}
