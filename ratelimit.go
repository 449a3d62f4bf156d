package agents

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file reads what a server says about its limits: Retry-After (and
// Retry-After-Ms), and the rate-limit headers real middleware sends, in
// their common forms. Every value is a hint from a server that may be
// buggy, skewed or shared with other clients: nothing here fails a call,
// and what does not parse is ignored.

// retryAfter reads how long the server asked the client to wait before the
// next request. Retry-After is delta-seconds or an HTTP date in any of its
// forms, "UTC" in place of "GMT" included; Retry-After-Ms, sent by some
// APIs beside it, refines it to the millisecond. A date in the past means
// now. It reports false when neither header parses, so that the caller
// falls back to its own backoff. An absurd delta saturates rather than
// overflowing, so that it is refused as too long, never wrapped short.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	d, ok := parseRetryAfter(h.Get("Retry-After"), serverNow(h, now))
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
			msd := saturate(ms / 1e3)
			// A whole-second Retry-After is the millisecond value rounded
			// up; a value that disagrees more than that is a different
			// claim, and the later of the two is the one never to beat.
			if !ok || (msd <= d && d-msd < time.Second) {
				return msd, true
			}
			return max(d, msd), true
		}
	}
	return d, ok
}

// parseRetryAfter reads one Retry-After value.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDecimal(v) {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil && !(errors.Is(err, strconv.ErrRange) && n > 0) {
			return 0, false
		}
		return saturate(n), true // too many digits for a float: as long as can be
	}
	t, ok := parseHTTPDate(v)
	if !ok {
		return 0, false
	}
	// A date names a whole second, and servers truncate: one that means
	// 12.7 writes 12. Waiting for the named second to pass is never too
	// early; retrying at its start, as often as not, is, and a Client
	// that retried at once on "now" spent its retries on 429s in a row.
	if t.Nanosecond() == 0 {
		t = t.Add(time.Second)
	}
	return max(t.Sub(now), 0), true
}

// httpDateLayouts are the three forms RFC 9110 allows, each also with a
// zone name other than GMT: servers write "UTC" (sethvargo/go-limiter
// does), which http.ParseTime refuses.
var httpDateLayouts = [...]string{
	http.TimeFormat,
	time.RFC1123,
	time.RFC1123Z,
	time.RFC850,
	time.ANSIC,
	time.RFC3339,
}

func parseHTTPDate(v string) (time.Time, bool) {
	for _, layout := range httpDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// saturate converts seconds to a Duration, saturating instead of
// overflowing.
func saturate(sec float64) time.Duration {
	if sec >= float64(math.MaxInt64)/float64(time.Second) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(sec * float64(time.Second))
}

// isDecimal accepts "120" and, leniently, "1.5"; not signs, exponents,
// "NaN" or "Inf", which ParseFloat would take.
func isDecimal(s string) bool {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// quota is what one response said about the server's limit: limit
// requests per window, remaining of them now, and the window resetting
// in reset. A field the response did not give is zero (remaining: -1).
type quota struct {
	limit     int
	remaining int
	window    time.Duration
	reset     time.Duration
	resetSet  bool
	// coarse marks a reset given as an absolute time in whole seconds:
	// the true reset lies up to a second after it.
	coarse bool
	// resetAt is the absolute reset as sent (Unix seconds), to tell one
	// window from the next; 0 for a delta.
	resetAt int64
}

// hasQuotaHeaders is the cheap test done on every response before any
// parsing, so that a server that sends none costs four map lookups.
func hasQuotaHeaders(h http.Header) bool {
	return len(h["X-Ratelimit-Limit"]) > 0 || len(h["X-Ratelimit-Remaining"]) > 0 ||
		len(h["Ratelimit"]) > 0 || len(h["Ratelimit-Limit"]) > 0 || len(h["Ratelimit-Policy"]) > 0
}

// parseQuota reads X-RateLimit-Limit/-Remaining/-Reset, the older IETF
// RateLimit-Limit/-Remaining/-Reset, and the IETF RateLimit and
// RateLimit-Policy fields in both their dictionary ("limit=50, remaining=3,
// reset=1") and their list ("default";r=3;t=1) forms. Absolute resets
// (Unix seconds or milliseconds, HTTP dates) are turned into a delta
// against the server's own Date when the two clocks disagree by more than
// a second or two, so that skew does not move the window. It reports
// false when nothing usable was sent.
func parseQuota(h http.Header, now time.Time) (quota, bool) {
	q := quota{remaining: -1}
	get := func(names ...string) string {
		for _, n := range names {
			if v := h.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	if v := get("X-Ratelimit-Limit", "Ratelimit-Limit"); v != "" {
		q.limit = leadingInt(v)
		if w, ok := param(v, "w"); ok {
			q.window = saturate(float64(leadingInt(w)))
		}
	}
	if v := get("X-Ratelimit-Remaining", "Ratelimit-Remaining"); v != "" {
		if n, ok := parseInt(v); ok {
			q.remaining = max(n, 0)
		}
	}
	if v := get("X-Ratelimit-Reset", "Ratelimit-Reset"); v != "" {
		q.readReset(v, h, now)
	}
	if v := h.Get("Ratelimit-Policy"); v != "" {
		q.readPolicy(v)
	}
	if v := h.Get("Ratelimit"); v != "" {
		q.readRateLimit(v)
	}
	if q.limit <= 0 && q.remaining < 0 {
		return quota{remaining: -1}, false
	}
	// A window or reset past a day is taken as a day: no real quota is
	// longer, and one absurd header must not stop a Client for years.
	q.window = min(q.window, maxQuotaWindow)
	q.reset = min(q.reset, maxQuotaWindow)
	return q, true
}

const (
	maxQuotaWindow = 24 * time.Hour
	// maxResetUnix bounds an absolute reset (Unix seconds) before it is
	// converted, so that no platform's float-to-int conversion wraps it.
	maxResetUnix = 1e11
)

// readReset reads a reset as delta seconds, Unix seconds or milliseconds
// (told apart by size), or an HTTP date.
func (q *quota) readReset(v string, h http.Header, now time.Time) {
	v = strings.TrimSpace(v)
	var at time.Time
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		switch {
		case f >= 1e12:
			at = time.UnixMilli(int64(min(f, maxResetUnix*1e3)))
		case f >= 1e9:
			f = min(f, maxResetUnix)
			at = time.Unix(int64(f), 0)
			q.coarse, q.resetAt = true, int64(f)
		default:
			q.reset, q.resetSet = saturate(f), true
			return
		}
	} else if t, ok := parseHTTPDate(v); ok {
		at = t
		q.coarse, q.resetAt = true, t.Unix()
	} else {
		return
	}
	q.reset, q.resetSet = max(at.Sub(serverNow(h, now)), 0), true
}

// serverNow is the server's clock as its Date header gives it, when it
// disagrees with ours by more than the header's own rounding; otherwise
// ours. An absolute time the server names (a Retry-After or reset date)
// is measured from it, so that a skewed clock neither shortens a wait
// nor stretches it.
func serverNow(h http.Header, now time.Time) time.Time {
	if d, ok := parseHTTPDate(h.Get("Date")); ok {
		if skew := d.Sub(now); skew > 2*time.Second || skew < -2*time.Second {
			return d
		}
	}
	return now
}

// readPolicy reads RateLimit-Policy: `"default";q=50;w=1` or `50;w=1`.
// With several policies the most restrictive rate wins.
func (q *quota) readPolicy(v string) {
	best := math.Inf(1)
	for item := range strings.SplitSeq(v, ",") {
		limit := 0
		if n, ok := param(item, "q"); ok {
			limit = leadingInt(n)
		} else {
			limit = leadingInt(item)
		}
		w := time.Second
		if s, ok := param(item, "w"); ok {
			if n := leadingInt(s); n > 0 {
				w = saturate(float64(n))
			}
		}
		if limit > 0 {
			if r := float64(limit) / w.Seconds(); r < best {
				best = r
				q.limit, q.window = limit, w
			}
		}
	}
}

// readRateLimit reads the RateLimit field: the dictionary form of the
// earlier drafts (limit=, remaining=, reset=) or the list form of the
// later ones ("name";r=remaining;t=seconds to reset), first item only.
func (q *quota) readRateLimit(v string) {
	item, _, _ := strings.Cut(v, ",")
	if strings.Contains(v, "remaining=") || strings.Contains(v, "limit=") {
		for f := range strings.SplitSeq(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(f), "=")
			switch strings.TrimSpace(k) {
			case "limit":
				if q.limit == 0 {
					q.limit = leadingInt(val)
				}
			case "remaining":
				if n, ok := parseInt(val); ok {
					q.remaining = max(n, 0)
				}
			case "reset":
				if n, ok := parseInt(val); ok && n >= 0 {
					q.reset, q.resetSet, q.coarse = saturate(float64(n)), true, false
				}
			}
		}
		return
	}
	if r, ok := param(item, "r"); ok {
		if n, ok := parseInt(r); ok {
			q.remaining = max(n, 0)
		}
	}
	if t, ok := param(item, "t"); ok {
		if n, ok := parseInt(t); ok && n >= 0 {
			q.reset, q.resetSet, q.coarse = saturate(float64(n)), true, false
		}
	}
}

// param finds ";name=value" in a structured-field item.
func param(item, name string) (string, bool) {
	parts := strings.Split(item, ";")
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.TrimSpace(k) == name {
			return strings.Trim(strings.TrimSpace(v), `"`), true
		}
	}
	return "", false
}

// leadingInt reads the integer a value starts with ("50, 50;w=1" is 50);
// 0 when there is none or it is absurd.
func leadingInt(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if err != nil || n > 1<<30 {
		return 0
	}
	return n
}

func parseInt(s string) (int, bool) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil {
		// "12.0" and friends: take the whole part.
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(f) || math.Abs(f) > 1<<30 {
			return 0, false
		}
		return int(f), true
	}
	return min(n, 1<<30), true
}
