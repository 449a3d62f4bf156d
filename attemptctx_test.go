package agents

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAttemptCtxEnds checks that an attempt's context ends as a
// timerCtx would, by its timer or by the attempt's end, and that what
// was derived from it ends with it: a context's child and a
// context.AfterFunc.
func TestAttemptCtxEnds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		d       time.Duration
		disarm  bool
		wantErr error
	}{
		{name: "timer fires", d: time.Millisecond, wantErr: context.DeadlineExceeded},
		{name: "attempt ends first", d: time.Hour, disarm: true, wantErr: context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var at attemptTimer
			ac := at.arm(context.Background(), tt.d)
			if dl, ok := ac.Deadline(); !ok || dl.IsZero() {
				t.Errorf("Deadline() = %v, %v; want the attempt's", dl, ok)
			}
			child, cancelChild := context.WithCancelCause(ac)
			defer cancelChild(nil)
			ran := make(chan struct{})
			context.AfterFunc(ac, func() { close(ran) })
			if tt.disarm {
				at.disarm(ac)
			}
			<-ac.Done()
			<-child.Done()
			<-ran
			if err := ac.Err(); !errors.Is(err, tt.wantErr) {
				t.Errorf("Err() = %v, want %v", err, tt.wantErr)
			}
			if err := context.Cause(child); !errors.Is(err, tt.wantErr) {
				t.Errorf("child's cause = %v, want %v", err, tt.wantErr)
			}
			if err := child.Err(); !errors.Is(err, tt.wantErr) {
				t.Errorf("child's Err() = %v, want %v", err, tt.wantErr)
			}
			at.disarm(ac) // again, as a body closed twice does
			if err := ac.Err(); !errors.Is(err, tt.wantErr) {
				t.Errorf("after a second disarm, Err() = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestAttemptTimerLateFiring checks that a firing that comes after its
// attempt ended leaves the next attempt alone, and that a child that was
// cancelled first is not cancelled again.
func TestAttemptTimerLateFiring(t *testing.T) {
	t.Parallel()
	var at attemptTimer
	first := at.arm(context.Background(), time.Hour)
	child, cancelChild := context.WithCancel(first)
	cancelChild() // unregisters from first through the stop AfterFunc gave
	at.disarm(first)
	next := at.arm(context.Background(), time.Hour)
	defer at.disarm(next)
	at.fire() // the first attempt's firing, late
	if err := next.Err(); err != nil {
		t.Fatalf("a late firing ended the next attempt: %v", err)
	}
	if err := first.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("first attempt: Err() = %v, want context.Canceled", err)
	}
	if err := child.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("child: Err() = %v, want context.Canceled", err)
	}
	stop := context.AfterFunc(next, func() { t.Error("a stopped AfterFunc ran") })
	if !stop() {
		t.Error("stop() = false before the context ended; want true")
	}
	late := context.AfterFunc(first, func() {})
	defer late()
}
