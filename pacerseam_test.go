package agents_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
)

// tallyPacer is a Pacer in front of the built-in one that keeps the
// answers it hears and passes every request on to local, or refuses with
// refuse when it is set.
type tallyPacer struct {
	local  agents.Pacer
	refuse error

	mu      sync.Mutex
	waits   int
	answers []agents.Answer
}

func (p *tallyPacer) Wait(ctx context.Context) (func(agents.Answer), error) {
	p.mu.Lock()
	p.waits++
	refuse := p.refuse
	p.mu.Unlock()
	if refuse != nil {
		return nil, refuse
	}
	done, err := p.local.Wait(ctx)
	if err != nil {
		return nil, err
	}
	return func(a agents.Answer) {
		p.mu.Lock()
		p.answers = append(p.answers, a)
		p.mu.Unlock()
		done(a)
	}, nil
}

func (p *tallyPacer) wrap(local agents.Pacer) agents.Pacer {
	p.local = local
	return p
}

// answerView is what a test compares of an Answer: no times, no header.
type answerView struct {
	Status                  int
	RetryAfter              time.Duration
	Limit, Remaining        int
	Window, Reset           time.Duration
	SentBeforeReceived, Hdr bool
}

func (p *tallyPacer) views() []answerView {
	p.mu.Lock()
	defer p.mu.Unlock()
	var vs []answerView
	for _, a := range p.answers {
		vs = append(vs, answerView{
			Status: a.StatusCode, RetryAfter: a.RetryAfter,
			Limit: a.Limit, Remaining: a.Remaining, Window: a.Window, Reset: a.Reset,
			SentBeforeReceived: !a.Sent.IsZero() && !a.Received.Before(a.Sent), Hdr: a.Header != nil,
		})
	}
	return vs
}

// Every attempt, retries included, passes the Pacer, and each answer is
// told to it once, read as the built-in pacer reads it.
func TestWithPacerHearsEveryAttempt(t *testing.T) {
	t.Parallel()
	ps := newProbeServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.Header().Set("Retry-After-Ms", "20")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			ok200(w, map[string]string{"RateLimit-Policy": `"default";q=50;w=1`, "RateLimit": `"default";r=7;t=1`})
		}
	})
	p := &tallyPacer{}
	c := ps.client(t, agents.WithPacer(p.wrap))
	if _, err := c.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	want := []answerView{
		{Status: 429, RetryAfter: 20 * time.Millisecond, Remaining: -1, SentBeforeReceived: true, Hdr: true},
		{Status: 502, Remaining: -1, SentBeforeReceived: true, Hdr: true},
		{Status: 200, Limit: 50, Window: time.Second, Remaining: 7, Reset: time.Second, SentBeforeReceived: true, Hdr: true},
	}
	if diff := cmp.Diff(want, p.views()); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	// The built-in pacer behind it heard them too: it held after the 429.
	st := c.PacingStats()
	if diff := cmp.Diff([3]int64{3, 1, 1}, [3]int64{st.Requests, st.Throttled, st.Holds}); diff != "" {
		t.Errorf("built-in pacer's requests, 429s, holds (-want +got):\n%s", diff)
	}
}

// A Pacer's refusal ends the call at once, with no retry, and says why;
// a refused retry keeps the server's last answer as the call's error.
func TestWithPacerRefusalEndsTheCall(t *testing.T) {
	t.Parallel()
	errShared := errors.New("shared limit spent")
	ps := newProbeServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	p := &tallyPacer{refuse: errShared}
	c := ps.client(t, agents.WithPacer(p.wrap))
	_, err := c.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{})
	if !errors.Is(err, errShared) || p.waits != 1 || ps.n.Load() != 0 || !strings.HasPrefix(err.Error(), "agents: ") {
		t.Fatalf("first refusal: err %v, %d waits, %d sent; want the Pacer's error, 1 wait, 0 sent", err, p.waits, ps.n.Load())
	}

	// Let the first attempt go, then refuse its retry.
	p2 := &tallyPacer{}
	c2 := ps.client(t, agents.WithPacer(p2.wrap), agents.WithHooks(agents.Hooks{
		OnRetry: func(context.Context, agents.RetryEvent) {
			p2.mu.Lock()
			p2.refuse = errShared
			p2.mu.Unlock()
		},
	}))
	_, err = c2.ListSessions(context.Background(), "agt_a", agents.ListSessionsParams{})
	var apiErr *agents.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || !errors.Is(err, errShared) {
		t.Fatalf("refused retry: err %v; want the server's 503 as *APIError and the Pacer's reason", err)
	}
	if p2.waits != 2 || !strings.Contains(err.Error(), "shared limit spent") {
		t.Errorf("refused retry: %d waits, error %q; want 2 waits and the reason in the text", p2.waits, err)
	}
}

// A Pacer that waits must end the wait with the context: the call then
// reports the context's error, and sends nothing.
func TestWithPacerWaitEndsWithContext(t *testing.T) {
	t.Parallel()
	ps := newProbeServer(t, func(n int64, w http.ResponseWriter, r *http.Request) { ok200(w, nil) })
	blocking := func(local agents.Pacer) agents.Pacer { return blockPacer{} }
	c := ps.client(t, agents.WithPacer(blocking))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.ListSessions(ctx, "agt_a", agents.ListSessionsParams{})
	if !errors.Is(err, context.DeadlineExceeded) || ps.n.Load() != 0 {
		t.Fatalf("err %v, %d sent; want context.DeadlineExceeded and nothing sent", err, ps.n.Load())
	}
}

type blockPacer struct{}

func (blockPacer) Wait(ctx context.Context) (func(agents.Answer), error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestWithPacerNilIsInvalid(t *testing.T) {
	t.Parallel()
	_, err := agents.NewClient(agents.WithBaseURL("http://127.0.0.1:1"), agents.WithAPIKey("k"),
		agents.WithPacer(func(agents.Pacer) agents.Pacer { return nil }))
	if !errors.Is(err, agents.ErrInvalidRequest) {
		t.Fatalf("err %v; want ErrInvalidRequest", err)
	}
}
