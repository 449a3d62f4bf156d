package agentsredis_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	agents "github.com/agentsapi/agents-go"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

// stalledRedis is a Redis that accepts connections and reads commands but
// never answers, as a SIGSTOPped redis-server does (the kernel still
// accepts and buffers). It counts the connections made to it: go-redis
// drops a connection whose command timed out, so each command tried is a
// connection.
type stalledRedis struct {
	ln    net.Listener
	dials atomic.Int64
	mu    sync.Mutex
	conns []net.Conn
}

func newStalledRedis(t *testing.T) *stalledRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stalledRedis{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.dials.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	return s
}

func (s *stalledRedis) addr() string { return s.ln.Addr().String() }

// A caller whose deadline is shorter than Options.Timeout must not lose its
// call to a Redis that has stopped answering: the Limiter has to give up on
// Redis in time to pace locally and send. Services with tight per-call
// deadlines otherwise fail every call for as long as Redis is stalled, and
// the Limiter never even notices Redis is down.
func TestStalledRedisShortDeadlinesStillSend(t *testing.T) {
	t.Parallel()
	r := newStalledRedis(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) { ok(w) })
	p := newProcess(t, r.addr(), srv.URL, srv.Client(), agentsredis.Options{Limit: 50, Timeout: 500 * time.Millisecond})
	var errs []error
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := p.client.ListSessions(ctx, "agt_a", agents.ListSessionsParams{})
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		t.Errorf("%d of 5 calls failed while Redis was stalled; want none (pace locally): first: %v", len(errs), errs[0])
	}
	if n := srv.n.Load(); n != 5 {
		t.Errorf("%d requests sent, want 5", n)
	}
}

// When Redis stalls, the callers already queued for the head must not each
// try it in turn, every one waiting out Options.Timeout: once the head has
// found Redis down, they pace locally like every later caller does.
func TestStalledRedisQueueDoesNotRetryItInTurn(t *testing.T) {
	t.Parallel()
	r := newStalledRedis(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) { ok(w) })
	p := newProcess(t, r.addr(), srv.URL, srv.Client(), agentsredis.Options{Limit: 1000, Timeout: 100 * time.Millisecond})
	const callers = 16
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range callers {
		wg.Go(func() {
			if _, err := p.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{}); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d calls failed; want none", n)
	}
	// One command finds Redis stalled; after that one caller per 250 ms
	// may try it again. 16 commands means each queued caller tried it.
	if n := r.dials.Load(); n >= callers/2 {
		t.Errorf("%d Redis commands tried for %d concurrent calls; want the first to mark Redis down for the rest", n, callers)
	}
}

// A caller queued behind the head while the head waits for the fleet's
// next slot fails at once when that slot lies past its deadline, as a
// caller behind the fleet's hold already does: it cannot be sent in time.
func TestQueuedCallerPastTheSlotFailsAtOnce(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) { ok(w) })
	p := newProcess(t, m.Addr(), srv.URL, srv.Client(), agentsredis.Options{Limit: 1})
	if _, err := p.client.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err) // spends the fleet's slot: the next is about a second away
	}
	head, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.client.ListSessions(head, "agt_a", agents.ListSessionsParams{}) // waits for the next slot
	}()
	defer func() { stop(); <-done }()
	time.Sleep(100 * time.Millisecond) // the first caller is at the head, waiting for the slot
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := p.client.ListSessions(ctx, "agt_a", agents.ListSessionsParams{})
	if !errors.Is(err, agents.ErrRateLimitExceeded) {
		t.Fatalf("err %v; want a refusal matching ErrRateLimitExceeded at once, not the deadline", err)
	}
}

// A go-redis client made without ContextTimeoutEnabled (go-redis's
// default) ignores the context and waits out its ReadTimeout, 3 s. The
// Limiter must still end a wait when the caller cancels, and bound a
// command by Options.Timeout, rather than leave every caller and the
// head's queue blocked for seconds per try.
func TestStalledRedisWithoutContextTimeoutsHonoursCancel(t *testing.T) {
	t.Parallel()
	r := newStalledRedis(t)
	srv := newServer(t, func(n int64, w http.ResponseWriter) { ok(w) })
	rdb := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1}) // ContextTimeoutEnabled: false
	t.Cleanup(func() { rdb.Close() })
	l := agentsredis.New(rdb, "k", agentsredis.Options{Limit: 50, Timeout: 50 * time.Millisecond})
	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey("k"), agents.WithHTTPClient(srv.Client()),
		agents.WithPacer(l.Pacer))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err = c.ListSessions(ctx, "agt_a", agents.ListSessionsParams{})
	// Either the timeout let it through locally before the cancel, or the
	// cancel ended it: both well under go-redis's 3 s ReadTimeout.
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the call took %v (err %v); want it ended by the cancel or Options.Timeout, not go-redis's ReadTimeout", took, err)
	}
}
