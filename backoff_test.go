package agents

import (
	"errors"
	"io"
	"net/url"
	"testing"
	"time"
)

// TestBackoffBounds: the n-th retry (from 0) waits between min·2ⁿ and
// min·2ⁿ⁺¹, within [min, max].
func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	for _, b := range [][2]time.Duration{{10 * time.Millisecond, 200 * time.Millisecond}, {time.Millisecond, time.Millisecond}, {3, time.Duration(1<<63 - 1)}} {
		lo, hi := b[0], b[1]
		for n := range 70 {
			ceiling := hi
			if n < 62 && lo<<(n+1) < hi && lo<<(n+1) > 0 {
				ceiling = lo << (n + 1)
			}
			floor := max(ceiling/2, lo)
			for range 50 {
				if d := backoff(lo, hi, n); d < floor || d > ceiling {
					t.Fatalf("backoff(%v, %v, %d) = %v; want within [%v, %v]", lo, hi, n, d, floor, ceiling)
				}
			}
		}
	}
}

// TestBackoffJittered: goroutines that failed together must not retry
// together, from the first retry on.
func TestBackoffJittered(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 5, 40} {
		seen := map[time.Duration]bool{}
		for range 10000 {
			seen[backoff(250*time.Millisecond, 10*time.Second, n)] = true
		}
		if len(seen) < 5000 {
			t.Errorf("retry %d: 10,000 draws gave %d distinct waits, want thousands", n+1, len(seen))
		}
	}
}

func TestTidyByType(t *testing.T) {
	t.Parallel()
	sdk := errors.New("the pacer refused")
	tests := []struct {
		name string
		in   error
		want string
		is   error
	}{
		{"the SDK's own error comes out as it is", &url.Error{Op: "Get", URL: "u", Err: &ownError{sdk}}, "the pacer refused", sdk},
		{"the caller's client's error gets the prefix", &url.Error{Op: "Get", URL: "u", Err: &url.Error{Op: "Get", URL: "v", Err: io.EOF}}, `agents: Get "v": EOF`, io.EOF},
		{"a foreign error that looks like ours is not taken for ours", &url.Error{Op: "Get", URL: "u", Err: errors.New("agents: impostor")}, `agents: Get "u": agents: impostor`, nil},
		{"anything else passes", io.EOF, "EOF", io.EOF},
	}
	for _, tt := range tests {
		got := tidy(tt.in)
		if got.Error() != tt.want || tt.is != nil && !errors.Is(got, tt.is) {
			t.Errorf("%s: tidy = %q, want %q (matching %v)", tt.name, got, tt.want, tt.is)
		}
	}
}
