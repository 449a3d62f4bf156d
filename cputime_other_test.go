//go:build !unix

package agents_test

import "time"

// processCPU cannot be read here; see cputime_unix_test.go.
func processCPU() time.Duration { return 0 }
