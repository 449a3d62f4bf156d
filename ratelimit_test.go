package agents

import (
	"math"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	// A date names a whole second, which may have been truncated: the
	// wait runs to its end.
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"0", 0, true},
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"Sat, 28 Nov 2026 12:00:30 GMT", 31 * time.Second, true},             // IMF-fixdate
		{"Saturday, 28-Nov-26 12:01:00 GMT", time.Minute + time.Second, true}, // RFC 850
		{"Sat Nov 28 12:00:05 2026", 6 * time.Second, true},                   // asctime
		{"Fri, 27 Nov 2026 12:00:00 GMT", 0, true},                            // in the past: now
		{"99999999999999999999", time.Duration(math.MaxInt64), true},          // overflows int64
		{"9223372036854775807", time.Duration(math.MaxInt64), true},           // overflows Duration
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 1500 * time.Millisecond, true}, // lenient
		{"Sat, 28 Nov 2026 12:00:30 UTC", 31 * time.Second, true}, // sethvargo/go-limiter
		{"Sat, 28 Nov 2026 12:00:30 +0000", 31 * time.Second, true},
		{"2026-11-28T12:00:30Z", 31 * time.Second, true},
		{"2026-11-28T12:00:30.25Z", 30*time.Second + 250*time.Millisecond, true}, // not whole seconds: as written
		{"NaN", 0, false},
		{"1e3", 0, false},
		{"soon", 0, false},
		{"+3", 0, false},
		{"Sat, 28 Nov 2026 12:00:30", 0, false}, // no zone
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}
