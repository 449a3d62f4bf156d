// Package measure holds the two figures the SDK's tests, its Redis
// module's tests and the scenario lab all judge pacing by, so that each
// reads them the same way.
package measure

import "time"

// Busiest is the most of the sorted times ts that fall within any span
// shorter than d: the most requests a server saw in any window of d,
// whatever its phase.
func Busiest(ts []time.Time, d time.Duration) int {
	most, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}

// Jain is Jain's fairness index of xs, (Σx)² ÷ (n·Σx²): 1 when every
// client got the same, 1/n when one got everything. Nothing at all is
// counted as fair.
func Jain[T int | int64](xs []T) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += float64(x)
		sq += float64(x) * float64(x)
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(xs)) * sq)
}
