package agentsredis

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"golang.org/x/time/rate"

	agents "github.com/agentsapi/agents-go"
)

// pacer is one Client's way through the Limiter. Its callers queue for
// the head position, so that one goroutine per Client, not every one,
// asks Redis for the next slot.
type pacer struct {
	l     *Limiter
	local agents.Pacer
	head  chan struct{}
	told  func(agents.Answer) // answered, bound once

	mu sync.Mutex
	// The rate this process sends at, measured while Redis paces it: its
	// share of the fleet's, to keep to while pacing locally.
	share     float64
	count     int
	countFrom time.Time
	lastSent  time.Time
	fallback  *rate.Limiter // while Redis is down, and just after
	// backSince is when Redis answered again after an outage: for a
	// little while the share still applies, since the other processes
	// come back one by one and pace locally meanwhile.
	backSince time.Time
	lastRate  float64       // the fleet's rate when this process last read it
	holdUntil time.Time     // the fleet's hold as the head last read it
	learning  bool          // the fleet learns its rate from 429s
	slotAt    time.Time     // the fleet's next slot the head is waiting for
	maxReset  time.Duration // the longest reset seen in headers
}

func (p *pacer) Wait(ctx context.Context) (func(agents.Answer), error) {
	ok, gen := p.l.usable(time.Now())
	if !ok {
		return p.waitLocal(ctx)
	}
	// A caller whose deadline falls inside the hold the head is waiting
	// out, or before the fleet's next slot the head is waiting for, cannot
	// be sent in time: it fails now, not at its deadline.
	p.mu.Lock()
	holdLeft, slotLeft := time.Until(p.holdUntil), time.Until(p.slotAt)
	p.mu.Unlock()
	if holdLeft > 0 {
		if err := p.refuse(ctx, holdLeft, true); err != nil {
			return nil, err
		}
	}
	if slotLeft > 0 {
		if err := p.refuse(ctx, slotLeft, false); err != nil {
			return nil, err
		}
	}
	select {
	case p.head <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	done, local, err := p.viaRedis(ctx, gen)
	// The head is let go before a local wait, so that the callers queued
	// behind it do not wait out this one's local pacing or hold.
	<-p.head
	if local {
		return p.waitLocal(ctx)
	}
	return done, err
}

// viaRedis waits for the fleet's next slot, with p.head held; local
// reports that Redis failed, now or since usable said gen, and the caller
// is to pace locally instead.
func (p *pacer) viaRedis(ctx context.Context, gen uint64) (done func(agents.Answer), local bool, err error) {
	if !p.l.stillUsable(gen) {
		return nil, true, nil
	}
	for {
		s, err := p.l.read(ctx)
		if err != nil {
			return p.redisFailed(ctx, err)
		}
		p.mu.Lock()
		p.holdUntil = time.Now().Add(s.hold)
		p.mu.Unlock()
		if s.hold > 0 {
			if err := p.sleep(ctx, s.hold, true); err != nil {
				return nil, false, err
			}
			continue
		}
		r, burst := p.l.pace(s)
		p.mu.Lock()
		p.lastRate = r
		p.learning = p.l.opts.Limit <= 0 && s.limit <= 0
		p.mu.Unlock()
		var res *redis_rate.Result
		err = p.l.do(ctx, func(ctx context.Context) error {
			var err error
			res, err = p.l.gcra.Allow(ctx, p.l.gcraKey, limit(r, burst))
			return err
		})
		if err != nil {
			return p.redisFailed(ctx, err)
		}
		p.l.worked()
		if res.Allowed > 0 {
			if lim := p.sent(time.Now()); lim != nil {
				if err := p.keepShare(ctx, lim); err != nil {
					return nil, false, err
				}
			}
			return p.told, false, nil
		}
		// Several processes wait for the same slot: a little jitter keeps
		// them from asking in the same microsecond every time.
		d := res.RetryAfter + rand.N(time.Millisecond)
		p.mu.Lock()
		p.slotAt = time.Now().Add(d)
		p.mu.Unlock()
		if err := p.sleep(ctx, d, false); err != nil {
			return nil, false, err
		}
	}
}

// redisFailed switches to local pacing after a Redis error, unless the
// error is the caller's context ending.
func (p *pacer) redisFailed(ctx context.Context, err error) (done func(agents.Answer), local bool, _ error) {
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	p.l.failed(err)
	return nil, true, nil
}

// waitLocal paces without Redis: at this process's last share of the
// fleet's rate, then through the Client's built-in pacer, which holds
// after this process's own 429s and learns from its answers.
func (p *pacer) waitLocal(ctx context.Context) (func(agents.Answer), error) {
	p.mu.Lock()
	if p.fallback == nil {
		// No process can have sent faster than the whole fleet: before
		// its share is measured, the fleet's rate bounds it.
		if r := p.shareNow(time.Now()); r > 0 {
			// A little under the share: the shares, each measured over its
			// own moments, may add up to more than the fleet's rate.
			p.fallback = rate.NewLimiter(rate.Limit(0.9*r), 1)
		}
	}
	lim := p.fallback
	p.backSince = time.Time{}
	p.mu.Unlock()
	if lim != nil {
		if err := p.keepShare(ctx, lim); err != nil {
			return nil, err
		}
	}
	return p.local.Wait(ctx)
}

// keepShare waits for a slot of this process's share.
func (p *pacer) keepShare(ctx context.Context, lim *rate.Limiter) error {
	r := lim.Reserve()
	d := r.Delay()
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
		r.Cancel()
		return &waitError{wait: d, local: true}
	}
	if err := sleepCtx(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

// sent counts a request Redis let go, to measure this process's share,
// and returns the share's limiter while it still applies after an outage.
func (p *pacer) sent(now time.Time) *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fallback != nil {
		if p.backSince.IsZero() {
			p.backSince = now
		}
		if now.Sub(p.backSince) < 2*retryRedis {
			return p.fallback
		}
		p.fallback, p.backSince = nil, time.Time{}
		p.count, p.countFrom = 0, time.Time{} // measured afresh
	}
	// A pause longer than a measurement says how little this process
	// had to send, not how much of the fleet's rate it may take: measured
	// over it, an idle hour made a share of one request every half hour,
	// which stopped the process while Redis was down. The count starts
	// afresh after it instead.
	// The request that starts a measurement is not in its count: n
	// requests after it span n gaps.
	if p.countFrom.IsZero() || now.Sub(p.lastSent) > shareEvery {
		p.count, p.countFrom = 0, now
	} else {
		p.count++
	}
	p.lastSent = now
	if el := now.Sub(p.countFrom); el >= shareEvery {
		r := float64(p.count) / el.Seconds()
		if p.share == 0 {
			p.share = r
		} else {
			p.share = 0.5*p.share + 0.5*r
		}
		p.count, p.countFrom = 0, now
	}
	return nil
}

// shareEvery is how often the share is measured, over the requests sent
// since the last time.
const shareEvery = 500 * time.Millisecond

// shareNow is the rate this process keeps to while Redis is down: its
// measured share, or before it is measured, the fleet's whole rate as last
// read; 0 when neither is known. p.mu is held.
func (p *pacer) shareNow(now time.Time) float64 {
	if p.share > 0 {
		return p.share
	}
	if el := now.Sub(p.countFrom); p.count > 1 && el > 0 {
		return min(float64(p.count)/el.Seconds(), p.lastRate)
	}
	return p.lastRate
}

// answered tells the fleet what an answer says about the limit: a 429
// holds every process and, while learning, cuts the rate; headers state
// the limit for every process to pace by.
func (p *pacer) answered(a agents.Answer) {
	if a.StatusCode == http.StatusTooManyRequests {
		p.mu.Lock()
		r := p.lastRate
		p.mu.Unlock()
		if err := p.l.throttle(a.RetryAfter, r); err != nil {
			p.l.failed(err)
		}
		return
	}
	if p.l.opts.Limit > 0 {
		return
	}
	if a.Limit <= 0 {
		p.mu.Lock()
		learning := p.learning
		p.mu.Unlock()
		if learning && a.StatusCode >= 200 && a.StatusCode < 300 {
			if err := p.l.count(); err != nil {
				p.l.failed(err)
			}
		}
		return
	}
	window := a.Window
	if window <= 0 {
		// X-RateLimit-Reset says when the window ends, never how long
		// it is: the longest reset seen, in whole seconds, is the guess.
		p.mu.Lock()
		p.maxReset = max(p.maxReset, a.Reset)
		window = max(time.Duration(math.Ceil(p.maxReset.Seconds()))*time.Second, time.Second)
		p.mu.Unlock()
	}
	pub := published{limit: a.Limit, window: window}
	p.l.mu.Lock()
	fresh := p.l.published != pub
	p.l.published = pub
	p.l.mu.Unlock()
	if fresh {
		if err := p.l.publish(pub); err != nil {
			p.l.failed(err)
		}
	}
}

// sleep waits d, for the hold when hold is set, or for the next slot;
// a wait that would end after the context's deadline fails at once.
func (p *pacer) sleep(ctx context.Context, d time.Duration, hold bool) error {
	if err := p.refuse(ctx, d, hold); err != nil {
		return err
	}
	return sleepCtx(ctx, d)
}

// refuse returns the error of a wait of d that would end after the
// context's deadline, or nil.
func (p *pacer) refuse(ctx context.Context, d time.Duration, hold bool) error {
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(d).After(dl) {
		if hold {
			return &agents.APIError{
				StatusCode: http.StatusTooManyRequests,
				Code:       "rate_limit_exceeded",
				Message:    "the fleet is holding back until a server's Retry-After has passed",
				RetryAfter: d,
			}
		}
		return &waitError{wait: d}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitError is a wait for the fleet's next slot that would end after the
// context's deadline.
type waitError struct {
	wait  time.Duration
	local bool // the local share while Redis is down
}

func (e *waitError) Error() string {
	where := "shared through Redis"
	if e.local {
		where = "this process's share, while Redis is down"
	}
	return fmt.Sprintf("agents: fleet rate limit (%s): the next slot is %v away, past the context's deadline", where, e.wait.Round(time.Millisecond))
}

func (e *waitError) Unwrap() []error {
	return []error{agents.ErrRateLimitExceeded, context.DeadlineExceeded}
}
