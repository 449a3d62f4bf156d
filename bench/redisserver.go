package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// labRedis is the Redis the redis impls share a limit through: a
// redis-server the lab starts on a free loopback port, with nothing saved
// to disk, or one given with -redis-addr. Only the lab's own can be
// killed for -redis-outage.
type labRedis struct {
	addr string
	bin  string // "" when the Redis is not the lab's own

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

// startRedisTimeout bounds how long a starting redis-server may take to
// answer PING.
const startRedisTimeout = 5 * time.Second

// newLabRedis connects to addr, or, when addr is "", starts a
// redis-server of the machine's.
func newLabRedis(addr string) (*labRedis, error) {
	if addr != "" {
		r := &labRedis{addr: addr}
		if err := r.ping(2 * time.Second); err != nil {
			return nil, fmt.Errorf("bench: -redis-addr %s: no Redis answers there: %w", addr, err)
		}
		return r, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("bench: the redis impls need a Redis: install redis-server (Debian: apt-get install redis-server) or give -redis-addr host:port")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: finding a free port for redis-server: %w", err)
	}
	addr = l.Addr().String()
	l.Close()
	r := &labRedis{addr: addr, bin: bin}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// own reports whether the lab started this Redis, and so may kill it.
func (r *labRedis) own() bool { return r.bin != "" }

func (r *labRedis) start() error {
	_, port, _ := net.SplitHostPort(r.addr)
	cmd := exec.Command(r.bin, "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bench: starting redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.mu.Lock()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()
	for deadline := time.Now().Add(startRedisTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case <-exited:
			return fmt.Errorf("bench: redis-server on %s exited at start (port taken?)", r.addr)
		default:
		}
		if r.ping(time.Second) == nil {
			return nil
		}
	}
	r.kill()
	return fmt.Errorf("bench: redis-server did not answer on %s within %v", r.addr, startRedisTimeout)
}

// kill ends the lab's redis-server at once (SIGKILL), as a crash would.
func (r *labRedis) kill() {
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.cmd, r.exited = nil, nil
	r.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-exited // reaped, so its port is free to start again on
	}
}

// outage kills the lab's redis-server and starts it again on the same
// port after d, unless ctx ends first (it is then started at once, for
// the next run).
func (r *labRedis) outage(ctx context.Context, d time.Duration) error {
	r.kill()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return r.start()
}

// close stops the lab's own redis-server; a given one is left alone.
func (r *labRedis) close() {
	if r.own() {
		r.kill()
	}
}

func (r *labRedis) ping(timeout time.Duration) error {
	c := r.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Ping(ctx).Err()
}

// flush empties Redis, so that each run starts with no shared state.
func (r *labRedis) flush() error {
	c := r.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("bench: FLUSHALL on %s: %w", r.addr, err)
	}
	return nil
}

// client is a go-redis client of its own, as one process would have.
func (r *labRedis) client() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.addr, ContextTimeoutEnabled: true})
}

// quietRedis silences go-redis's own logger, which prints a line for
// every failed dial while Redis is down.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedis{}) }

// describe says which Redis the lab uses, and its version.
func (r *labRedis) describe() string {
	who := "given with -redis-addr"
	if r.own() {
		who = "the lab's redis-server (--save \"\" --appendonly no)"
	}
	c := r.client()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v := "version unknown"
	if info, err := c.InfoMap(ctx, "server").Result(); err == nil {
		if s, ok := info["Server"]["redis_version"]; ok {
			v = "redis " + s
		}
	}
	return fmt.Sprintf("%s on %s, %s, flushed before each run", r.addr, who, v)
}

// watchState prints the fleet's shared state every 250 ms to stderr
// while LAB_PACING is set, in Redis's clock: the hold left, the limit
// read from headers, the rate at the last 429 (wmax) and the time since
// it, and the requests the server accepted in the last second (counted
// while the fleet learns); the returned func stops it.
func (r *labRedis) watchState() func() {
	if os.Getenv("LAB_PACING") == "" {
		return func() {}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		c := r.client()
		defer c.Close()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			line, err := stateLine(ctx, c)
			cancel()
			if err != nil {
				line = "unreachable: " + err.Error()
			}
			fmt.Fprintf(os.Stderr, "shared %5.2fs %s\n", time.Since(start).Seconds(), line)
		}
	}()
	return func() { close(stop); <-done }
}

// stateLine reads every agentsredis state hash (one per API key) and the
// accepted-request counts beside it, which agentsredis keeps per quarter
// second of Redis's clock.
func stateLine(ctx context.Context, c *redis.Client) (string, error) {
	now, err := c.Time(ctx).Result()
	if err != nil {
		return "", err
	}
	keys, err := c.Keys(ctx, "*:state").Result()
	if err != nil {
		return "", err
	}
	nowMs := now.UnixMilli()
	var out []string
	for _, k := range keys {
		h, err := c.HGetAll(ctx, k).Result()
		if err != nil {
			return "", err
		}
		acc, err := c.HGetAll(ctx, strings.TrimSuffix(k, "state")+"accepted").Result()
		if err != nil {
			return "", err
		}
		var accepted int64
		for b := nowMs/250 - 3; b <= nowMs/250; b++ {
			n, _ := strconv.ParseInt(acc[strconv.FormatInt(b, 10)], 10, 64)
			accepted += n
		}
		sinceCut := "-"
		if v, err := strconv.ParseInt(h["cut"], 10, 64); err == nil {
			sinceCut = (time.Duration(nowMs-v) * time.Millisecond).String()
		}
		hold := "-"
		if v, err := strconv.ParseInt(h["hold"], 10, 64); err == nil && v > nowMs {
			hold = (time.Duration(v-nowMs) * time.Millisecond).String()
		}
		out = append(out, fmt.Sprintf("hold %s limit %s/%sms wmax %s since-cut %s accepted-last-1s %d",
			hold, orDash(h["limit"]), orDash(h["window"]), orDash(h["wmax"]), sinceCut, accepted))
	}
	if len(out) == 0 {
		return "no state yet", nil
	}
	return strings.Join(out, "; "), nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
