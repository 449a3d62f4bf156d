package agents_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

type ctxKey struct{}

// recorder keeps every hook event as one line, in the order heard, and
// checks that each came with the call's context.
type recorder struct {
	t      *testing.T
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(ctx context.Context, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx != nil && ctx.Value(ctxKey{}) != "walk" {
		r.t.Errorf("hook got a context without the call's value")
	}
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// query is the URL's query, or the whole URL when it has the API key.
func query(url string) string {
	if strings.Contains(url, fakeapi.DefaultKey) {
		return url
	}
	_, q, _ := strings.Cut(url, "?")
	return q
}

func (r *recorder) hooks() agents.Hooks {
	return agents.Hooks{
		OnAttempt: func(ctx context.Context, ev agents.AttemptEvent) {
			r.add(ctx, "attempt %d %s", ev.Attempt, query(ev.URL))
		},
		OnAttemptDone: func(ctx context.Context, ev agents.AttemptDoneEvent) {
			r.add(ctx, "done %d %d %s err=%v", ev.Attempt, ev.StatusCode, ev.RequestID, ev.Err != nil)
		},
		OnRetry: func(ctx context.Context, ev agents.RetryEvent) {
			r.add(ctx, "retry %d %d %s err=%v wait=%v", ev.Attempt, ev.StatusCode, ev.RequestID, ev.Err != nil, ev.Wait > 0)
		},
		OnPage: func(ctx context.Context, ev agents.PageEvent) {
			r.add(ctx, "page %d from=%q sessions=%d next=%v %s attempts=%d", ev.Page, ev.PageKey, ev.Sessions, ev.NextPageKey != "", ev.Response.RequestID, ev.Response.Attempts)
		},
	}
}

func TestHooksHearEachEventOnceInOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{t: t}
	srv, c := setup(t, agents.WithHooks(rec.hooks()))
	// Page 1 needs a retry after a 503; page 2 after a body cut off.
	srv.Script(fakeapi.Status(http.StatusServiceUnavailable, ""), fakeapi.Pass(), fakeapi.Truncate())
	ctx := context.WithValue(context.Background(), ctxKey{}, "walk")
	n := 0
	for _, err := range c.AllSessions(ctx, "agt_sales_assistant", agents.ListSessionsParams{MaxItems: 220}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 220 {
		t.Errorf("walked %d sessions, want 220", n)
	}
	// A cursor names the last session of the page before.
	cur1, cur2 := fakeapi.EncodeCursor("ase_sales_assistant_0000099"), fakeapi.EncodeCursor("ase_sales_assistant_0000199")
	key1, key2 := "page_key="+url.QueryEscape(cur1), "page_key="+url.QueryEscape(cur2)
	want := []string{
		"attempt 1 limit=100",
		"done 1 503 req_000001 err=false",
		"retry 1 503 req_000001 err=false wait=true",
		"attempt 2 limit=100",
		"done 2 200 req_000002 err=false",
		`page 1 from="" sessions=100 next=true req_000002 attempts=2`,
		"attempt 1 limit=100&" + key1,
		"done 1 200 req_000003 err=false", // headers arrive; the body is then cut off
		"retry 1 0  err=true wait=true",
		"attempt 2 limit=100&" + key1,
		"done 2 200 req_000004 err=false",
		fmt.Sprintf("page 2 from=%q sessions=100 next=true req_000004 attempts=2", cur1),
		"attempt 1 limit=20&" + key2,
		"done 1 200 req_000005 err=false",
		fmt.Sprintf("page 3 from=%q sessions=20 next=true req_000005 attempts=1", cur2),
	}
	if diff := cmp.Diff(want, rec.lines()); diff != "" {
		t.Errorf("hook events (-want +got):\n%s", diff)
	}
}

// With prefetch the next page's attempts overlap the caller's loop, so
// only the count of each event is fixed; -race checks the hooks are
// called safely.
func TestHooksWithPrefetchAndConcurrentCalls(t *testing.T) {
	t.Parallel()
	rec := &recorder{t: t}
	_, c := setup(t, agents.WithHooks(rec.hooks()), agents.WithPrefetch(true))
	ctx := context.WithValue(context.Background(), ctxKey{}, "walk")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, err := range c.SessionPages(ctx, "agt_sales_assistant", agents.ListSessionsParams{}) {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	count := map[string]int{}
	for _, l := range rec.lines() {
		kind, _, _ := strings.Cut(l, " ")
		count[kind]++
	}
	if diff := cmp.Diff(map[string]int{"attempt": 12, "done": 12, "page": 12}, count); diff != "" {
		t.Errorf("events by kind (-want +got):\n%s", diff)
	}
}

// A dropped connection is an attempt with an error and no status.
func TestHooksHearTransportErrors(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var done []agents.AttemptDoneEvent
	var retries []agents.RetryEvent
	// A new connection for each request, so that net/http cannot re-send
	// the dropped request by itself.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	srv, c := setup(t, agents.WithHTTPClient(hc), agents.WithHooks(agents.Hooks{
		OnAttemptDone: func(_ context.Context, ev agents.AttemptDoneEvent) { mu.Lock(); done = append(done, ev); mu.Unlock() },
		OnRetry:       func(_ context.Context, ev agents.RetryEvent) { mu.Lock(); retries = append(retries, ev); mu.Unlock() },
	}))
	srv.Script(fakeapi.Drop())
	page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(done) != 2 || done[0].Err == nil || done[0].StatusCode != 0 || done[1].Err != nil || done[1].StatusCode != 200 {
		t.Errorf("AttemptDone events = %+v; want an error, then a 200", done)
	}
	if len(retries) != 1 || retries[0].Err == nil || retries[0].Attempt != 1 {
		t.Errorf("Retry events = %+v; want one, for attempt 1, with its error", retries)
	}
	if page.Response.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", page.Response.Attempts)
	}
}

// WithHooks given twice calls both sets, in the order given.
func TestWithHooksTwiceCallsBoth(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	hook := func(name string) agents.Hooks {
		return agents.Hooks{OnAttempt: func(context.Context, agents.AttemptEvent) {
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
		}}
	}
	_, c := setup(t, agents.WithHooks(hook("first")), agents.WithHooks(agents.Hooks{}), agents.WithHooks(hook("second")))
	if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"first", "second"}, got); diff != "" {
		t.Errorf("hooks called (-want +got):\n%s", diff)
	}
}

type spanKey struct{}

// OnCall's context is the one the call's attempts and its other events
// carry, and with two sets of hooks each OnCall sees the one before it:
// what a tracer needs to hang attempt spans under a call span.
func TestHooksOnCallContextReachesAttempts(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	add := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf(format, args...))
	}
	outer := agents.Hooks{
		OnCall: func(ctx context.Context, ev agents.CallEvent) context.Context {
			add("call %s %s", ev.AgentKey, query(ev.URL))
			return context.WithValue(ctx, spanKey{}, "span-1")
		},
	}
	inner := agents.Hooks{
		OnCall: func(ctx context.Context, ev agents.CallEvent) context.Context {
			return context.WithValue(ctx, spanKey{}, ctx.Value(spanKey{}).(string)+"/span-2")
		},
		OnAttempt: func(ctx context.Context, ev agents.AttemptEvent) {
			add("attempt %d in %v", ev.Attempt, ctx.Value(spanKey{}))
		},
		OnCallDone: func(ctx context.Context, ev agents.CallDoneEvent) {
			add("call done in %v: attempts=%d status=%d %s err=%v", ctx.Value(spanKey{}), ev.Attempts, ev.StatusCode, ev.RequestID, ev.Err)
		},
	}
	srv, c := setup(t, agents.WithHooks(outer), agents.WithHooks(inner), agents.WithMaxRetries(1))
	srv.Script(fakeapi.Status(http.StatusServiceUnavailable, ""), fakeapi.Pass())
	if _, err := c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 2}); err != nil {
		t.Fatal(err)
	}
	_, err := c.ListSessions(context.Background(), "agt_nobody", agents.ListSessionsParams{})
	want := []string{
		"call agt_sales_assistant limit=2",
		"attempt 1 in span-1/span-2",
		"attempt 2 in span-1/span-2",
		"call done in span-1/span-2: attempts=2 status=200 req_000002 err=<nil>",
		"call agt_nobody ",
		"attempt 1 in span-1/span-2",
		fmt.Sprintf("call done in span-1/span-2: attempts=1 status=404 req_000003 err=%v", err),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}
