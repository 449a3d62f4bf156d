package agents

import (
	"runtime"
	"strconv"
	"testing"
)

// keySetBytesPerKey measures the heap a keySet of n keys holds.
func keySetBytesPerKey(n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := newKeySet()
	for i := range n {
		s.add("eyJzZXNzaW9uX2lkIjoiYXNlX" + strconv.Itoa(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// TestKeySetMemory holds the figure the keySet comment and BENCHMARKS.md
// give: about 30 bytes a page key, whatever the key's length.
func TestKeySetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates tens of MB")
	}
	for _, n := range []int{1 << 16, 3 << 19, 1 << 20} {
		b := keySetBytesPerKey(n)
		t.Logf("%d keys: %.1f B/key", n, b)
		if b < 8 || b > 48 {
			t.Errorf("%d keys: %.1f B/key; the documented figure is about 30", n, b)
		}
	}
}
