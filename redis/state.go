package agentsredis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The fleet's state is one hash: the hold's end, the limit read from
// headers, and the learnt rate's last cut, all in Redis's own clock (TIME),
// so that processes whose clocks disagree still hold and grow together.
// Each script is one round trip and runs atomically.

// luaNow and luaAccepted begin the scripts: Redis's clock in
// milliseconds, and the rate (a second) at which the server accepted the
// fleet's requests over the last span milliseconds, from the counts that
// counted keeps in quarter-second buckets.
const luaNow = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function accepted(key, span)
  local b = math.floor(now / 250)
  local n = tonumber(redis.call('HGET', key, tostring(b))) or 0
  local k = span / 250
  for i = 1, k do
    local c = tonumber(redis.call('HGET', key, tostring(b - i))) or 0
    if i == k then c = c * (1 - (now % 250) / 250) end
    n = n + c
  end
  return n * 1000 / span, n
end
`

// readState returns what a process needs to pace: the hold left, the
// headers' limit and window, the rate at the last cut, the time since it,
// and the rate the server accepted over the last second (KEYS[2], counted
// while the fleet learns; see counted).
var readState = redis.NewScript(luaNow + `
local v = redis.call('HMGET', KEYS[1], 'hold', 'limit', 'window', 'wmax', 'cut', 'strict', 'cuts')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local since_cut = -1
if tonumber(v[5]) then since_cut = now - tonumber(v[5]) end
return {(tonumber(v[1]) or 0) - now, v[2] or '0', v[3] or '0', v[4] or '0', since_cut, string.format('%.3f', accepted(KEYS[2], 1000)), v[6] or '0', v[7] or '0'}
`)

// throttled records a 429: it extends the hold to Retry-After (bounded)
// when that ends later than the hold set already, marks the server strict
// (a 429 within the fleet's budget: from now on no burst), and, when the fleet
// learns its rate, remembers the rate the fleet's requests were accepted
// at over the last half second (KEYS[2], see counted), or when too few
// were counted, the rate the 429 came at; once per gap, so that one
// overshoot's many 429s cut once. Half a second, not a whole one: past
// its limit a server accepts at just its limit, and a slow start that
// overshot was below it a second ago.
var throttled = redis.NewScript(luaNow + `
local d = tonumber(ARGV[1])
if d > 0 and now + d > (tonumber(redis.call('HGET', KEYS[1], 'hold')) or 0) then
  redis.call('HSET', KEYS[1], 'hold', now + d)
end
redis.call('HSET', KEYS[1], 'strict', '1')
if ARGV[2] == '1' then
  local cut = tonumber(redis.call('HGET', KEYS[1], 'cut'))
  if not cut or now - cut >= tonumber(ARGV[4]) then
    local rate, n = accepted(KEYS[2], 500)
    local w = tonumber(ARGV[3])
    if n >= 5 then w = rate end
    redis.call('HSET', KEYS[1], 'wmax', string.format('%.3f', w), 'cut', now)
    redis.call('HINCRBY', KEYS[1], 'cuts', 1)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

// counted counts an accepted request in its quarter of a second of
// Redis's clock, for the rates luaNow's accepted measures; the last one
// and a half seconds are kept.
var counted = redis.NewScript(luaNow + `
local b = math.floor(now / 250)
redis.call('HINCRBY', KEYS[1], tostring(b), 1)
redis.call('HDEL', KEYS[1], tostring(b - 5), tostring(b - 6))
redis.call('PEXPIRE', KEYS[1], 5000)
return 1
`)

func (l *Limiter) read(ctx context.Context) (shared, error) {
	var v []any
	err := l.do(ctx, func(ctx context.Context) error {
		var err error
		v, err = readState.Run(ctx, l.rdb, []string{l.state, l.accepted}, stateTTL.Milliseconds()).Slice()
		return err
	})
	if err != nil {
		return shared{}, err
	}
	if len(v) != 8 {
		return shared{}, fmt.Errorf("agentsredis: state script returned %d values, want 8", len(v))
	}
	ms := func(x any) time.Duration { n, _ := x.(int64); return time.Duration(n) * time.Millisecond }
	num := func(x any) float64 { s, _ := x.(string); f, _ := strconv.ParseFloat(s, 64); return f }
	return shared{
		// A hold set by a process with a longer MaxHold, or an absurd
		// value, holds this one no longer than its own bound.
		hold:     min(ms(v[0]), l.opts.MaxHold),
		limit:    int(num(v[1])),
		window:   time.Duration(num(v[2])) * time.Millisecond,
		wmax:     num(v[3]),
		sinceCut: ms(v[4]),
		accepted: num(v[5]),
		strict:   num(v[6]) == 1,
		cuts:     int(num(v[7])),
	}, nil
}

// throttle tells the fleet of a 429 that asked for retryAfter, sent when
// the fleet's rate was r.
func (l *Limiter) throttle(retryAfter time.Duration, r float64) error {
	learn := "0"
	if l.opts.Limit <= 0 {
		learn = "1"
	}
	hold := min(retryAfter, l.opts.MaxHold)
	gap := max(minCutGap, hold)
	return l.do(context.Background(), func(ctx context.Context) error {
		return throttled.Run(ctx, l.rdb, []string{l.state, l.accepted},
			hold.Milliseconds(), learn, strconv.FormatFloat(r, 'f', 3, 64), gap.Milliseconds(), stateTTL.Milliseconds()).Err()
	})
}

// count tells the fleet of an accepted request, while it learns its rate.
func (l *Limiter) count() error {
	return l.do(context.Background(), func(ctx context.Context) error {
		return counted.Run(ctx, l.rdb, []string{l.accepted}).Err()
	})
}

// publish writes the limit the server's headers state, for every process
// to pace by.
func (l *Limiter) publish(p published) error {
	return l.do(context.Background(), func(ctx context.Context) error {
		_, err := l.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.HSet(ctx, l.state, "limit", p.limit, "window", p.window.Milliseconds())
			pipe.PExpire(ctx, l.state, stateTTL)
			return nil
		})
		return err
	})
}
