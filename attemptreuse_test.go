package agents_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// recordingTransport keeps every request it is given, and what the
// request said when it was given, as a caller's logging or test
// transport may.
type recordingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []*http.Request
	seen []string // each request's method, URL and context state when sent
}

func describe(req *http.Request) string {
	if req.URL == nil {
		return "<no URL>"
	}
	return req.Method + " " + req.URL.String()
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.seen = append(r.seen, describe(req))
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// TestCallersTransportKeepsItsRequests checks that a request the Client
// gave a caller's RoundTripper (WithHTTPClient) still says what it said
// when it was sent once the call is over, whichever calls came after:
// a transport that logs or records requests for a test to read later
// must not find them rewritten, shared between calls, or emptied.
func TestCallersTransportKeepsItsRequests(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts []agents.Option
	}{
		{name: "default attempt timeout"},
		{name: "no attempt timeout", opts: []agents.Option{agents.WithAttemptTimeout(0)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			rt := &recordingTransport{next: srv.Client().Transport}
			c := newClient(t, srv, append([]agents.Option{agents.WithHTTPClient(&http.Client{Transport: rt})}, tt.opts...)...)
			srv.Script(fakeapi.Status(http.StatusServiceUnavailable, ""))
			for _, limit := range []int{1, 2, 3} {
				if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: limit}); err != nil {
					t.Fatalf("limit %d: %v", limit, err)
				}
			}
			rt.mu.Lock()
			defer rt.mu.Unlock()
			var got []string
			distinct := map[*http.Request]bool{}
			for _, req := range rt.reqs {
				got = append(got, describe(req))
				distinct[req] = true
			}
			if diff := cmp.Diff(rt.seen, got); diff != "" {
				t.Errorf("requests changed after their calls ended (-as sent +now):\n%s", diff)
			}
			if len(distinct) != len(rt.reqs) {
				t.Errorf("%d requests sent as %d distinct *http.Request values; want one each", len(rt.reqs), len(distinct))
			}
		})
	}
}

// TestCallersCheckRedirectKeepsItsRequests: the requests a caller's
// CheckRedirect is shown in via are the caller's to keep, as the ones
// its transport is given are.
func TestCallersCheckRedirectKeepsItsRequests(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	var (
		mu   sync.Mutex
		kept []*http.Request
		seen []string
	)
	hc := srv.Client()
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		mu.Lock()
		defer mu.Unlock()
		kept = append(kept, via[0])
		seen = append(seen, describe(via[0]))
		return nil
	}
	c := newClient(t, srv, agents.WithHTTPClient(hc))
	for _, limit := range []int{1, 2, 3} {
		srv.Script(fakeapi.Fault{Kind: fakeapi.KindRaw, Status: http.StatusFound,
			Header: http.Header{"Location": {strings.TrimSuffix(srv.URL, fakeapi.DefaultBasePath) + sessionsPath}}})
		if _, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: limit}); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, req := range kept {
		got = append(got, describe(req))
	}
	if diff := cmp.Diff(seen, got); diff != "" {
		t.Errorf("requests in via changed after their calls ended (-as shown +now):\n%s", diff)
	}
}

// h2Front starts a TLS server speaking HTTP/2 in front of srv, passing
// every request on to it, and returns it with its base URL; the count
// says how many requests it saw over HTTP/2.
func h2Front(t *testing.T, srv *fakeapi.Server) (*httptest.Server, string, *atomic.Int64) {
	t.Helper()
	up, err := url.Parse(strings.TrimSuffix(srv.URL, fakeapi.DefaultBasePath))
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(up) },
		Transport:     srv.Client().Transport,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ErrorHandler:  func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
	var h2 atomic.Int64
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	front.EnableHTTP2 = true
	front.StartTLS()
	t.Cleanup(front.Close)
	return front, front.URL + fakeapi.DefaultBasePath, &h2
}

// TestAttemptsOverHTTP2 runs calls that retry, time out in the body,
// and are cancelled mid-read over HTTP/2 on one Client, one after the
// other, so that each reuses what the one before left in the pool.
func TestAttemptsOverHTTP2(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	front, base, h2 := h2Front(t, srv)
	c, err := agents.NewClient(agents.WithBaseURL(base), agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithHTTPClient(front.Client()), agents.WithRetryBackoff(time.Millisecond, 4*time.Millisecond),
		agents.WithAttemptTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	params := agents.ListSessionsParams{Limit: 2}
	for i, tt := range []struct {
		name   string
		faults []fakeapi.Fault
		cancel bool // cancel the call's context once the body has started
		want   int  // attempts; 0 for an error
	}{
		{name: "page", want: 1},
		{name: "503 then page", faults: []fakeapi.Fault{fakeapi.Status(503, "")}, want: 2},
		{name: "cut off then page", faults: []fakeapi.Fault{fakeapi.Truncate()}, want: 2},
		{name: "hung then page", faults: []fakeapi.Fault{fakeapi.Hang()}, want: 2},
		{name: "body stalls past the attempt timeout, then page", faults: []fakeapi.Fault{fakeapi.Trickle(time.Second)}, want: 2},
		{name: "cancelled mid-body", faults: []fakeapi.Fault{fakeapi.Trickle(time.Second)}, cancel: true},
		{name: "page after all that", want: 1},
	} {
		srv.Script(tt.faults...)
		ctx := context.Background()
		var cancel context.CancelFunc = func() {}
		if tt.cancel {
			ctx, cancel = context.WithCancel(ctx)
			time.AfterFunc(50*time.Millisecond, cancel)
		}
		page, err := c.ListSessions(ctx, "agt_customer_support", params)
		cancel()
		switch {
		case tt.want == 0 && (!errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "agents: ")):
			t.Errorf("%d %s: err = %v, want agents: ... context.Canceled", i, tt.name, err)
		case tt.want > 0 && err != nil:
			t.Errorf("%d %s: %v", i, tt.name, err)
		case tt.want > 0 && (page.Response.Attempts != tt.want || len(page.Sessions) != 2):
			t.Errorf("%d %s: %d attempts, %d sessions; want %d, 2", i, tt.name, page.Response.Attempts, len(page.Sessions), tt.want)
		}
	}
	if h2.Load() == 0 {
		t.Error("no request came over HTTP/2")
	}
}

// TestAttemptTimeoutNearTheAnswer sends calls whose attempt timeout
// falls about when the server answers, so that timers fire while
// attempts end and calls go back to the pool. Every call must end with
// its page or with the attempt timeout, never with an attempt ended by
// another's timer or close.
func TestAttemptTimeoutNearTheAnswer(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"HTTP/1.1", "HTTP/2"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			base, hc := srv.URL, srv.Client()
			if proto == "HTTP/2" {
				var front *httptest.Server
				front, base, _ = h2Front(t, srv)
				hc = front.Client()
			}
			c, err := agents.NewClient(agents.WithBaseURL(base), agents.WithAPIKey(fakeapi.DefaultKey),
				agents.WithHTTPClient(hc), agents.WithRetryBackoff(time.Millisecond, 2*time.Millisecond),
				agents.WithAttemptTimeout(3*time.Millisecond), agents.WithMaxRetries(2))
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Go(func() {
					for i := range 40 {
						if i%3 == g {
							srv.Script(fakeapi.Slow(time.Duration(i%5) * time.Millisecond))
						}
						_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 1 + i%3})
						if err == nil {
							continue
						}
						var te interface{ Timeout() bool }
						if !errors.As(err, &te) || !te.Timeout() || !strings.Contains(err.Error(), "WithAttemptTimeout") {
							t.Errorf("call %d/%d: err = %v; want the page or the attempt timeout", g, i, err)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// keyRecorder answers every request with a 401 and keeps the
// Authorization header it came with.
type keyRecorder struct {
	mu   sync.Mutex
	auth []string
}

func (k *keyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.auth = append(k.auth, r.Header.Get("Authorization"))
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `{"error":{"code":"unauthorized","message":"no key"}}`)
}

// TestRedirectToAnotherHostDropsTheKey follows every redirect status to
// another host (another port on loopback), on the fast path and
// through the *http.Client (a Jar), with and without an attempt
// timeout: the key must never arrive there.
func TestRedirectToAnotherHostDropsTheKey(t *testing.T) {
	t.Parallel()
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, jar := range []bool{false, true} {
			for _, timeout := range []time.Duration{0, time.Minute} {
				t.Run(fmt.Sprintf("%d jar=%v timeout=%v", code, jar, timeout), func(t *testing.T) {
					t.Parallel()
					srv := fakeapi.New()
					t.Cleanup(srv.Close)
					var rec keyRecorder
					other := httptest.NewServer(&rec)
					t.Cleanup(other.Close)
					hc := srv.Client()
					if jar {
						hc.Jar, _ = cookiejar.New(nil)
					}
					c := newClient(t, srv, agents.WithHTTPClient(hc), agents.WithAttemptTimeout(timeout), agents.WithMaxRetries(0))
					srv.Script(fakeapi.Fault{Kind: fakeapi.KindRaw, Status: code, Header: http.Header{"Location": {other.URL + "/elsewhere"}}})
					_, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
					var apiErr *agents.APIError
					if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
						t.Errorf("err = %v; want the other host's 401", err)
					}
					rec.mu.Lock()
					defer rec.mu.Unlock()
					if diff := cmp.Diff([]string{""}, rec.auth); diff != "" {
						t.Errorf("Authorization at the other host (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// derivingTransport makes of each attempt's context what a caller's
// RoundTripper may: a child with a timeout of its own and an AfterFunc.
// The first attempt waits for its context to end; the rest go on to
// next. It keeps the first attempt's stop func to call during the next.
type derivingTransport struct {
	next      http.RoundTripper
	mu        sync.Mutex
	n         int
	firstErr  error // the first attempt's child's Err once it ended
	ranAfter  chan struct{}
	stopFirst func() bool
	stopped   []bool // what stopFirst said during later attempts
	laterErr  []error
}

func (d *derivingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	d.mu.Lock()
	d.n++
	n := d.n
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(req.Context(), time.Hour)
	defer cancel()
	if n == 1 {
		stop := context.AfterFunc(req.Context(), func() { close(d.ranAfter) })
		<-ctx.Done()
		d.mu.Lock()
		d.firstErr, d.stopFirst = ctx.Err(), stop
		d.mu.Unlock()
		return nil, context.Cause(ctx)
	}
	d.mu.Lock()
	d.stopped = append(d.stopped, d.stopFirst())
	d.laterErr = append(d.laterErr, context.WithoutCancel(ctx).Err(), ctx.Err(), req.Context().Err())
	d.mu.Unlock()
	return d.next.RoundTrip(req)
}

// TestAttemptContextAsACallersTransportSeesIt checks the attempt
// timeout's context through what a caller's transport derives from it:
// the first attempt's child ends with DeadlineExceeded and its
// AfterFunc runs; the second attempt's context is live, and the first's
// stop func, called during it, neither stops nor reports anything.
func TestAttemptContextAsACallersTransportSeesIt(t *testing.T) {
	t.Parallel()
	for _, cancellable := range []bool{false, true} {
		t.Run(fmt.Sprintf("cancellable=%v", cancellable), func(t *testing.T) {
			t.Parallel()
			srv := fakeapi.New()
			t.Cleanup(srv.Close)
			dt := &derivingTransport{next: srv.Client().Transport, ranAfter: make(chan struct{})}
			c := newClient(t, srv, agents.WithHTTPClient(&http.Client{Transport: dt}), agents.WithAttemptTimeout(20*time.Millisecond))
			ctx := context.Background()
			if cancellable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			page, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{})
			if err != nil || page.Response.Attempts != 2 {
				t.Fatalf("err = %v; want the page from the second attempt", err)
			}
			<-dt.ranAfter
			dt.mu.Lock()
			defer dt.mu.Unlock()
			if !errors.Is(dt.firstErr, context.DeadlineExceeded) {
				t.Errorf("first attempt's child: Err() = %v, want context.DeadlineExceeded", dt.firstErr)
			}
			if diff := cmp.Diff([]bool{false}, dt.stopped); diff != "" {
				t.Errorf("first attempt's stop during the second (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]error{nil, nil, nil}, dt.laterErr, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("second attempt's contexts' Err (-want +got):\n%s", diff)
			}
		})
	}
}
