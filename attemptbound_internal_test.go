package agents

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestAttemptBoundsShareBySlot checks who shares an epoch's bound: every
// call whose context cannot end, calls whose contexts end together (one
// slot), the first boundSlots such groups, and no one after them.
func TestAttemptBoundsShareBySlot(t *testing.T) {
	t.Parallel()
	b := newAttemptBounds(time.Minute)
	now := time.Now()
	type key struct{}
	var roots []context.Context
	for range boundSlots + 2 {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		roots = append(roots, ctx)
	}
	ended, end := context.WithCancel(context.Background())
	end()

	shared := func(ctx context.Context) (bool, <-chan struct{}) {
		actx, cancel := b.bound(ctx, now)
		t.Cleanup(cancel)
		_, isValues := actx.(*boundValues)
		return isValues || actx == b.cur.Load().ctx, actx.Done()
	}
	var got []bool
	dones := map[<-chan struct{}]bool{}
	for _, ctx := range append(roots, ended) {
		s, done := shared(ctx)
		got = append(got, s)
		dones[done] = true
	}
	want := []bool{true, true, true, true, false, false, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("which contexts share a bound (-want +got):\n%s", diff)
	}
	if len(dones) != len(want) {
		t.Errorf("%d distinct bounds for %d contexts that end apart", len(dones), len(want))
	}

	// A context that ends with a slot's shares its bound; so does every
	// context that cannot end, values or none.
	_, d0 := shared(roots[0])
	_, d1 := shared(context.WithValue(roots[0], key{}, 1))
	_, bg := shared(context.Background())
	_, v := shared(context.WithValue(context.Background(), key{}, 1))
	_, wc := shared(context.WithoutCancel(roots[0]))
	if d0 != d1 || bg != v || bg != wc || d0 == bg {
		t.Error("contexts that end together were given bounds that do not")
	}

	// The next epoch starts afresh.
	later, cancel := b.bound(roots[0], now.Add(b.share))
	t.Cleanup(cancel)
	if later.Done() == d0 {
		t.Error("an attempt that starts after the epoch got its bound")
	}
	if dl, _ := later.Deadline(); dl.Sub(now) != 2*b.share+b.timeout {
		t.Errorf("the next epoch's deadline is %v after the first's start, want %v", dl.Sub(now), 2*b.share+b.timeout)
	}
}

// TestAttemptBoundsRace has many goroutines ask for one epoch's bounds at
// once: calls under one root must all get the same, and the slots hold
// no loser of the race (run with -race).
func TestAttemptBoundsRace(t *testing.T) {
	t.Parallel()
	b := newAttemptBounds(time.Minute)
	now := time.Now()
	root, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var (
		mu    sync.Mutex
		dones = map[<-chan struct{}]int{}
		wg    sync.WaitGroup
	)
	for range 32 {
		wg.Go(func() {
			actx, cancel := b.bound(root, now)
			defer cancel()
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
	for i := 1; i < boundSlots; i++ {
		if s := e.slots[i].Load(); s != nil {
			t.Errorf("slot %d holds a bound for a root that slot 0 has", i)
		}
	}
}

// TestAttemptBoundEnds checks how a shared bound ends: at its deadline
// with errAttemptTimeout, after which it stops listening to the calls'
// context; or with that context, with its cause.
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
			actx, _ := b.bound(root, time.Now())
			s := b.cur.Load().slots[0].Load()
			if s == nil {
				t.Fatal("no shared bound for a root context")
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
			for deadline := time.Now().Add(10 * time.Second); !s.unhooked.Load(); {
				if time.Now().After(deadline) {
					t.Fatal("the ended bound still listens to the calls' context")
				}
				time.Sleep(time.Millisecond)
			}
			end(errors.New("later"))
			if got := context.Cause(actx); got != tt.wantCause {
				t.Errorf("after the context ended too: cause %v, want %v", got, tt.wantCause)
			}
		})
	}
}
