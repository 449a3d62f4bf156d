package agents

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// TestAttemptBoundsShareBySlot checks who shares an epoch's bound: every
// call whose context cannot end; calls whose contexts end together, once
// their Done channel recurs, in up to boundSlots groups; and no one else.
func TestAttemptBoundsShareBySlot(t *testing.T) {
	t.Parallel()
	b := newAttemptBounds(time.Minute)
	now := time.Now()
	type key struct{}
	ended, end := context.WithCancel(context.Background())
	end()
	soon, cancelSoon := context.WithTimeout(context.Background(), b.timeout+b.share/2)
	t.Cleanup(cancelSoon)
	later, cancelLater := context.WithTimeout(context.Background(), time.Hour)
	t.Cleanup(cancelLater)
	ctxs := []context.Context{ended, soon, later}
	for range boundSlots + 1 {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		ctxs = append(ctxs, ctx)
	}

	// kind names the bound an attempt got: the epoch's, a slot's, one of
	// its own, or none (the call's deadline comes first).
	kind := func(ctx context.Context) (string, <-chan struct{}) {
		actx, cancel, s := b.bound(ctx, now)
		t.Cleanup(cancel)
		if s != nil {
			t.Cleanup(s.release)
		}
		switch v, _ := actx.(*boundValues); {
		case actx == b.cur.Load().ctx || v != nil && v.bound == b.cur.Load().ctx:
			return "epoch", actx.Done()
		case s != nil:
			return "slot", actx.Done()
		case actx == ctx:
			return "none", actx.Done()
		}
		return "own", actx.Done()
	}
	var got []string
	for _, ctx := range ctxs {
		first, _ := kind(ctx)
		second, _ := kind(ctx) // the same Done twice in a row
		got = append(got, first+", "+second)
	}
	want := []string{
		"own, own",   // ended: a bound of its own, which has ended too
		"none, none", // its deadline comes before the epoch's
		"own, slot",  // a deadline after the epoch's: slot 0
		"own, slot", "own, slot", "own, slot",
		"own, own", "own, own", // no slot left
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bounds of two attempts in a row for each context (-want +got):\n%s", diff)
	}

	// A context that ends with a slot's shares its bound; so does every
	// context that cannot end, values or none.
	_, d0 := kind(ctxs[3])
	_, d1 := kind(context.WithValue(ctxs[3], key{}, 1))
	_, bg := kind(context.Background())
	_, v := kind(context.WithValue(context.Background(), key{}, 1))
	_, wc := kind(context.WithoutCancel(ctxs[3]))
	if d0 != d1 || bg != v || bg != wc || d0 == bg {
		t.Error("contexts that end together were given bounds that do not")
	}

	// Contexts seen once each, as a server's per request, take no slot.
	b2 := newAttemptBounds(time.Minute)
	for i := range 2 * boundSlots {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		if _, _, s := b2.bound(ctx, now); s != nil {
			t.Errorf("context %d, seen once, got a slot", i)
		}
	}

	// The next epoch starts afresh.
	next, cancel, _ := b.bound(ctxs[3], now.Add(b.share))
	t.Cleanup(cancel)
	if next.Done() == d0 {
		t.Error("an attempt that starts after the epoch got its bound")
	}
	if dl, _ := next.Deadline(); dl.Sub(now) != 2*b.share+b.timeout {
		t.Errorf("the next epoch's deadline is %v after the first's start, want %v", dl.Sub(now), 2*b.share+b.timeout)
	}
}

// TestAttemptBoundsRace has many goroutines take and release one slot at
// once: calls under one root must all get the same bound, and once all
// are released nothing listens to the root (run with -race).
func TestAttemptBoundsRace(t *testing.T) {
	t.Parallel()
	b := newAttemptBounds(time.Minute)
	now := time.Now()
	root, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b.bound(root, now) // seen once: the next makes a slot
	var (
		mu    sync.Mutex
		dones = map[<-chan struct{}]int{}
		wg    sync.WaitGroup
	)
	for range 32 {
		wg.Go(func() {
			actx, cancel, s := b.bound(root, now)
			defer cancel()
			if s != nil {
				defer s.release()
			}
			mu.Lock()
			dones[actx.Done()]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(dones) != 1 {
		t.Errorf("32 calls under one root got %d bounds, want 1", len(dones))
	}
	e := b.cur.Load()
	s := e.slots[0].Load()
	s.mu.Lock()
	refs, listening := s.refs.Load(), s.unhook != nil
	s.mu.Unlock()
	if refs != 0 || listening {
		t.Errorf("after every attempt ended: %d in flight, listening %v; want 0, false", refs, listening)
	}
	for i := 1; i < boundSlots; i++ {
		if e.slots[i].Load() != nil {
			t.Errorf("slot %d holds a bound for a root that slot 0 has", i)
		}
	}
}

// TestAttemptBoundEnds checks how a shared bound ends: at its deadline
// with errAttemptTimeout, or with the calls' context and its cause; and
// that it stops listening to that context either way.
func TestAttemptBoundEnds(t *testing.T) {
	t.Parallel()
	const timeout = 20 * time.Millisecond
	cause := errors.New("shutting down")
	for _, tt := range []struct {
		name      string
		end       bool // end the calls' context before the deadline
		wantCause error
	}{
		{name: "deadline", wantCause: errAttemptTimeout},
		{name: "the calls' context", end: true, wantCause: cause},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newAttemptBounds(timeout)
			root, end := context.WithCancelCause(context.Background())
			t.Cleanup(func() { end(nil) })
			now := time.Now()
			b.bound(root, now)
			actx, _, s := b.bound(root, now)
			if s == nil {
				t.Fatal("no shared bound for a root context seen twice")
			}
			if tt.end {
				end(cause)
			}
			select {
			case <-actx.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the bound never ended")
			}
			if got := context.Cause(actx); got != tt.wantCause {
				t.Errorf("cause %v, want %v", got, tt.wantCause)
			}
			// The attempt is still in flight: only the bound's end can have
			// stopped the listening, and it does so from a goroutine.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				s.mu.Lock()
				listening := s.unhook != nil
				s.mu.Unlock()
				if !listening {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the ended bound still listens to the calls' context")
				}
			}
			s.release()
			end(errors.New("later"))
			if got := context.Cause(actx); got != tt.wantCause {
				t.Errorf("after the context ended too: cause %v, want %v", got, tt.wantCause)
			}
		})
	}
}

// TestSharedBoundEndsWithItsCall runs two hung calls, each under its own
// root context and on a slot: cancelling one root ends its call at once,
// with the root's cause (as a call's error always is), and leaves the
// other call running.
func TestSharedBoundEndsWithItsCall(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	// An epoch of a second: the warm-up and the hung calls share it,
	// and the test never waits for the bound itself.
	const timeout = 32 * time.Second
	c, err := NewClient(WithBaseURL(srv.URL), WithAPIKey(fakeapi.DefaultKey), WithHTTPClient(srv.Client()),
		WithAttemptTimeout(timeout), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	gone, end := context.WithCancelCause(context.Background())
	kept, keep := context.WithCancelCause(context.Background())
	t.Cleanup(func() { end(nil); keep(nil) })
	for _, ctx := range []context.Context{gone, gone, kept, kept} { // each Done seen, then slotted
		if _, err := c.ListSessions(ctx, "agt_customer_support", ListSessionsParams{}); err != nil {
			t.Fatal(err)
		}
	}
	e := c.bounds.cur.Load()
	srv.Script(fakeapi.Hang(), fakeapi.Hang())
	errs := make([]chan error, 2)
	for i, ctx := range []context.Context{gone, kept} {
		errs[i] = make(chan error, 1)
		go func() {
			_, err := c.ListSessions(ctx, "agt_customer_support", ListSessionsParams{})
			errs[i] <- err
		}()
	}
	inFlight := func() (n int64) {
		for i := range e.slots {
			if s := e.slots[i].Load(); s != nil {
				n += s.refs.Load()
			}
		}
		return n
	}
	// Both attempts counted on slots, and both hangs taken by them at the
	// server, before the next call may come: it would take a hang itself.
	for deadline := time.Now().Add(5 * time.Second); inFlight() < 2 || srv.Stats().Faults < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			if c.bounds.cur.Load() != e {
				t.Skip("an epoch began between the warm-up and the hung calls")
			}
			t.Fatalf("%d hung attempts on slots and %d hangs taken, want 2 and 2", inFlight(), srv.Stats().Faults)
		}
	}

	// A call under the same root that comes and goes meanwhile must not
	// stop the listening its hung neighbour still needs.
	if _, err := c.ListSessions(gone, "agt_customer_support", ListSessionsParams{}); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("shutting down")
	end(cause)
	select {
	case err := <-errs[0]:
		if !errors.Is(err, cause) {
			t.Errorf("call under the cancelled root: err = %v, want %q", err, cause)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the root did not end its call's attempt")
	}
	select {
	case err := <-errs[1]:
		t.Fatalf("call under the other root ended with %v when the first root was cancelled", err)
	case <-time.After(50 * time.Millisecond):
	}
	other := errors.New("done")
	keep(other)
	if err := <-errs[1]; !errors.Is(err, other) {
		t.Errorf("call under the other root: err = %v, want %q", err, other)
	}
	if n := inFlight(); n != 0 {
		t.Errorf("%d attempts still counted on slots after both calls ended", n)
	}
}
