package fakeapi

import (
	"net/http"
	"strconv"
	"time"
)

// FaultKind is what a Fault does to a request.
type FaultKind int

const (
	// KindStatus answers with Status and the documented error body for
	// it, plus Retry-After when RetryAfter is set.
	KindStatus FaultKind = iota + 1
	// KindRaw answers with Status, Header and Body exactly as given: a
	// proxy's HTML page, an empty body, a flat error, a crafted page.
	KindRaw
	// KindDrop closes the connection without answering.
	KindDrop
	// KindTruncate serves the real response, announcing its full
	// Content-Length, then closes the connection half-way through it.
	KindTruncate
	// KindSlow waits Delay, then serves the real response.
	KindSlow
	// KindHang accepts the request and never answers, until the client
	// gives up or the server closes.
	KindHang
	// KindTrickle serves the real response one byte every Delay.
	KindTrickle
	// KindPass serves the request normally: a script's way of letting
	// requests through before its fault.
	KindPass
)

// A Fault replaces the normal handling of one request.
type Fault struct {
	Kind       FaultKind
	Status     int
	RetryAfter string
	Header     http.Header
	Body       string
	Delay      time.Duration
}

// Status answers one request with a documented error for code, such as
// 429 or 503, with a Retry-After header when retryAfter is not "".
func Status(code int, retryAfter string) Fault {
	return Fault{Kind: KindStatus, Status: code, RetryAfter: retryAfter}
}

// Raw answers one request with code and body verbatim; contentType may be
// "".
func Raw(code int, contentType, body string) Fault {
	h := http.Header{}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return Fault{Kind: KindRaw, Status: code, Header: h, Body: body}
}

// Pass lets one request through unharmed.
func Pass() Fault { return Fault{Kind: KindPass} }

// Drop closes the connection of one request without a response.
func Drop() Fault { return Fault{Kind: KindDrop} }

// Truncate cuts one response off half-way through its body.
func Truncate() Fault { return Fault{Kind: KindTruncate} }

// Slow delays one response by d.
func Slow(d time.Duration) Fault { return Fault{Kind: KindSlow, Delay: d} }

// Hang never answers one request.
func Hang() Fault { return Fault{Kind: KindHang} }

// Trickle sends one response a byte every d.
func Trickle(d time.Duration) Fault { return Fault{Kind: KindTrickle, Delay: d} }

// Chaos injects faults at random: each request, with probability Rate,
// gets one of Faults, picked uniformly. Seed makes a run repeatable as far
// as the order in which requests arrive allows.
type Chaos struct {
	Seed   uint64
	Rate   float64
	Faults []Fault
}

// MixedFaults is every kind of transient fault a real network and gateway
// produce, each of which a client should survive by retrying.
func MixedFaults(slow time.Duration) []Fault {
	return []Fault{
		Status(http.StatusTooManyRequests, "0"),
		Status(http.StatusTooManyRequests, ""),
		Status(http.StatusInternalServerError, ""),
		Status(http.StatusBadGateway, ""),
		Status(http.StatusServiceUnavailable, "0"),
		Status(http.StatusGatewayTimeout, ""),
		Drop(),
		Truncate(),
		Slow(slow),
	}
}

func (f Fault) String() string {
	switch f.Kind {
	case KindStatus:
		return "status " + strconv.Itoa(f.Status)
	case KindRaw:
		return "raw " + strconv.Itoa(f.Status)
	case KindDrop:
		return "drop"
	case KindTruncate:
		return "truncate"
	case KindSlow:
		return "slow " + f.Delay.String()
	case KindHang:
		return "hang"
	case KindTrickle:
		return "trickle " + f.Delay.String()
	case KindPass:
		return "pass"
	}
	return "fault?"
}
