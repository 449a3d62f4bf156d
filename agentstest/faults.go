package agentstest

import (
	"net/http"
	"time"

	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// A Fault replaces the server's normal answer to one request. Make one
// with the functions below; the zero Fault serves the request normally.
type Fault struct{ f fakeapi.Fault }

// String names the fault, for test logs.
func (f Fault) String() string { return f.f.String() }

// Pass serves one request normally: a script's way of letting requests
// through before a fault.
func Pass() Fault { return Fault{fakeapi.Pass()} }

// Error answers with status and the documented error body for it, such
// as 404 agent_not_found or 503, with a Retry-After header when
// retryAfter is not "".
func Error(status int, retryAfter string) Fault {
	return Fault{fakeapi.Status(status, retryAfter)}
}

// Response answers with status, header and body exactly as given: a
// proxy's HTML page, an empty body, a hand-made page of sessions.
func Response(status int, header http.Header, body string) Fault {
	return Fault{fakeapi.Fault{Kind: fakeapi.KindRaw, Status: status, Header: header.Clone(), Body: body}}
}

// Drop closes the connection without answering.
func Drop() Fault { return Fault{fakeapi.Drop()} }

// Truncate sends the real response but closes the connection half-way
// through its body.
func Truncate() Fault { return Fault{fakeapi.Truncate()} }

// Slow serves the real response after d.
func Slow(d time.Duration) Fault { return Fault{fakeapi.Slow(d)} }

// Hang never answers, until the client gives up or the server closes.
func Hang() Fault { return Fault{fakeapi.Hang()} }

// Trickle sends the real response one byte every d.
func Trickle(d time.Duration) Fault { return Fault{fakeapi.Trickle(d)} }
