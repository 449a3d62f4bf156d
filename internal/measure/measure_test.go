package measure

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBusiest(t *testing.T) {
	t.Parallel()
	at := func(ms ...int) []time.Time {
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ts := make([]time.Time, len(ms))
		for i, m := range ms {
			ts[i] = base.Add(time.Duration(m) * time.Millisecond)
		}
		return ts
	}
	tests := []struct {
		name string
		ts   []time.Time
		d    time.Duration
		want int
	}{
		{"none", nil, time.Second, 0},
		{"one", at(5), time.Second, 1},
		{"a window's edge is outside it", at(0, 1000), time.Second, 1},
		{"just inside", at(0, 999), time.Second, 2},
		{"the busiest span is off the start", at(0, 900, 950, 1000, 1800), time.Second, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Busiest(tt.ts, tt.d)); diff != "" {
				t.Errorf("Busiest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		xs   []int
		want float64
	}{
		{"equal", []int{5, 5, 5, 5}, 1},
		{"one has all", []int{8, 0, 0, 0}, 0.25},
		{"nothing at all", []int{0, 0}, 1},
		{"half and half", []int{2, 2, 0, 0}, 0.5},
		{"one client", []int{10}, 1},
		{"three to one", []int{3, 1}, 0.8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, Jain(tt.xs)); diff != "" {
				t.Errorf("Jain (-want +got):\n%s", diff)
			}
		})
	}
}

func ExampleJain() {
	fmt.Printf("%.2f %.2f\n", Jain([]int64{50, 50, 50, 50}), Jain([]int64{100, 50, 50, 0}))
	// Output: 1.00 0.67
}
