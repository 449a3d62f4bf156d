package agentsredis_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	agentsredis "github.com/agentsapi/agents-go/redis"
)

const page = `{"sessions":[],"metadata":{"page_key":null,"total_count":0}}`

// server answers with h and records when each request arrived.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
	n     atomic.Int64
}

func newServer(t testing.TB, h func(n int64, w http.ResponseWriter)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.times = append(s.times, time.Now())
		s.mu.Unlock()
		h(s.n.Add(1), w)
	}))
	t.Cleanup(s.Close)
	return s
}

func ok(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(page))
}

func (s *server) arrivals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := append([]time.Time(nil), s.times...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts
}

// process is one member of a fleet: its own Redis connection, Limiter
// and Client, as a separate process would have.
type process struct {
	rdb     *redis.Client
	limiter *agentsredis.Limiter
	client  *agents.Client
	log     *syncBuffer
}

func newProcess(t testing.TB, addr, baseURL string, hc *http.Client, o agentsredis.Options, opts ...agents.Option) *process {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	p := &process{rdb: rdb, log: &syncBuffer{}}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(p.log, nil))
	}
	p.limiter = agentsredis.New(rdb, fakeapi.DefaultKey, o)
	c, err := agents.NewClient(append([]agents.Option{
		agents.WithBaseURL(baseURL),
		agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithHTTPClient(hc),
		agents.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
		agents.WithPacer(p.limiter.Pacer),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	p.client = c
	return p
}

// run calls ListSessions from n goroutines until ctx ends, and returns
// the calls that succeeded and the errors of those that failed.
func (p *process) run(ctx context.Context, n int) (okCalls int64, errs []error) {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		good atomic.Int64
	)
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := p.client.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{Limit: 1})
				switch {
				case err == nil:
					good.Add(1)
				case ctx.Err() == nil:
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return good.Load(), errs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// histogram counts arrivals a quarter of a second at a time, for the log.
func histogram(ts []time.Time) string {
	if len(ts) == 0 {
		return ""
	}
	const step = 250 * time.Millisecond
	counts := make([]int, int(ts[len(ts)-1].Sub(ts[0])/step)+1)
	for _, at := range ts {
		counts[int(at.Sub(ts[0])/step)]++
	}
	return strings.Trim(fmt.Sprint(counts), "[]")
}
