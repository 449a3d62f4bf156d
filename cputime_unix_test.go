//go:build unix

package agents_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user and system) the test process has used
// so far. On a machine shared with other work, the CPU a call costs is
// steadier than the wall time it takes; 0 where it cannot be read.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
