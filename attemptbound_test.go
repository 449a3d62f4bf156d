package agents_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

type boundKey struct{}

// ctxRecorder records what each attempt's context says as it reaches the
// transport: the caller's value under boundKey, and its deadline.
type ctxRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []attemptCtx
}

type attemptCtx struct {
	value    any
	entered  time.Time // when the attempt reached the transport
	deadline time.Time // zero without one
}

func (r *ctxRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	a := attemptCtx{value: ctx.Value(boundKey{}), entered: time.Now()}
	a.deadline, _ = ctx.Deadline()
	r.mu.Lock()
	r.seen = append(r.seen, a)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// TestAttemptBoundEveryContext checks the attempt timeout for every kind
// of call context: the hung first attempt is cut off and retried, the
// attempt's context keeps the caller's values, and its deadline lies
// between the timeout and the timeout plus a 32nd (attempts share their
// bound; see attemptbound.go).
func TestAttemptBoundEveryContext(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	root, cancelRoot := context.WithCancel(context.Background())
	t.Cleanup(cancelRoot)
	for _, tt := range []struct {
		name  string
		ctx   func(t *testing.T) context.Context
		value any
	}{
		{name: "Background", ctx: func(*testing.T) context.Context { return context.Background() }},
		{name: "TODO", ctx: func(*testing.T) context.Context { return context.TODO() }},
		{name: "values only", value: "v", ctx: func(*testing.T) context.Context {
			return context.WithValue(context.Background(), boundKey{}, "v")
		}},
		{name: "shared root", value: "r", ctx: func(*testing.T) context.Context {
			return context.WithValue(root, boundKey{}, "r")
		}},
		{name: "WithoutCancel", value: "w", ctx: func(*testing.T) context.Context {
			return context.WithoutCancel(context.WithValue(root, boundKey{}, "w"))
		}},
		{name: "own per call", value: "o", ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), boundKey{}, "o"))
			t.Cleanup(cancel)
			return ctx
		}},
		{name: "deadline further than the timeout", value: "d", ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.WithValue(root, boundKey{}, "d"), time.Minute)
			t.Cleanup(cancel)
			return ctx
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			rec := &ctxRecorder{next: srv.Client().Transport}
			c := newClient(t, srv, agents.WithHTTPClient(&http.Client{Transport: rec}),
				agents.WithAttemptTimeout(timeout), agents.WithMaxRetries(1), agents.WithRetryBackoff(time.Millisecond, time.Millisecond))
			srv.Script(fakeapi.Hang())
			start := time.Now()
			page, err := c.ListSessions(tt.ctx(t), "agt_customer_support", agents.ListSessionsParams{})
			if err != nil || len(page.Sessions) == 0 {
				t.Fatalf("err = %v; want the page from the retry after the attempt timed out", err)
			}
			if elapsed := time.Since(start); elapsed < timeout || elapsed > 10*timeout {
				t.Errorf("took %v; the bound should cut the first attempt after %v", elapsed, timeout)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			// An attempt's deadline is timeout to timeout+timeout/32 after it
			// began, which lies between the previous bound (the call's start,
			// for the first; the first attempt's deadline, which cut it, for
			// the retry) and its arrival at the transport.
			var values []any
			began := start
			for i, a := range rec.seen {
				values = append(values, a.value)
				if a.deadline.Sub(began) < timeout || a.deadline.Sub(a.entered) > timeout+timeout/32 {
					t.Errorf("attempt %d: deadline %v after the earliest it may have begun and %v after it reached the transport; want at least %v and at most %v",
						i, a.deadline.Sub(began), a.deadline.Sub(a.entered), timeout, timeout+timeout/32)
				}
				began = a.deadline
			}
			if diff := cmp.Diff([]any{tt.value, tt.value}, values); diff != "" {
				t.Errorf("the caller's value in each attempt's context (-want +got):\n%s", diff)
			}
		})
	}
}

// ExampleWithAttemptTimeout shows the bound at work on a server that never
// answers the first attempt: it is cut off, and the retry gets the page.
func ExampleWithAttemptTimeout() {
	srv := fakeapi.New()
	defer srv.Close()
	srv.Script(fakeapi.Hang())
	c, err := agents.NewClient(agents.WithBaseURL(srv.URL), agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithAttemptTimeout(50*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	page, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(page.Sessions), "session after", page.Response.Attempts, "attempts")
	// Output: 1 session after 2 attempts
}

// doneCtx is a context of the caller's own type with a Done channel of
// its own, which the context package can only watch from a goroutine.
type doneCtx struct {
	context.Context
	done chan struct{}
}

func (c *doneCtx) Done() <-chan struct{} { return c.done }

func (c *doneCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

// TestAttemptBoundLeavesNoGoroutine is not parallel: it counts goroutines.
// A shared bound listens to its calls' context only while their attempts
// are in flight; for a context of the caller's own type that listening is
// a goroutine, which must end with the calls, not with the bound.
func TestAttemptBoundLeavesNoGoroutine(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	// Open until the goroutines are counted: its end would end the
	// listening too.
	ctx := &doneCtx{Context: context.Background(), done: make(chan struct{})}
	defer close(ctx.done)
	func() {
		srv := fakeapi.New()
		defer srv.Close()
		c := newClient(t, srv)
		var wg sync.WaitGroup
		for range 4 { // sequential calls, then concurrent ones, on one Done
			if _, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{}); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				if _, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// Attempts that fail, not with a response: two calls in a row,
		// so that the second takes a slot even if an epoch began between.
		srv.Script(fakeapi.Drop(), fakeapi.Drop(), fakeapi.Drop(), fakeapi.Drop(), fakeapi.Drop(), fakeapi.Drop())
		for range 2 {
			// net/http itself retries a request dropped on a reused
			// connection once; the SDK does not retry here.
			if _, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{}, agents.WithCallMaxRetries(0)); err == nil {
				t.Error("a call whose connections were all dropped succeeded")
			}
		}
		srv.Client().CloseIdleConnections()
	}()
	goleak.VerifyNone(t, ignore)
}
