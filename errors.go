package agents

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors for the documented API error codes. Test for them with
// [errors.Is]; the error itself is usually an [*APIError] carrying the
// details, or, for [ErrInvalidRequest], a local validation failure.
var (
	// ErrInvalidRequest reports a 400 invalid_request from the server, or
	// input that the client rejected before sending anything.
	ErrInvalidRequest = errors.New("agents: invalid request")
	// ErrUnauthorized reports a 401 unauthorized: the API key is missing
	// or not valid.
	ErrUnauthorized = errors.New("agents: unauthorized")
	// ErrForbidden reports a 403 forbidden: the key may not read this
	// agent's sessions.
	ErrForbidden = errors.New("agents: forbidden")
	// ErrAgentNotFound reports a 404 agent_not_found. Only the server's
	// code matches it: a 404 without that code comes from a wrong base
	// URL or a proxy, and code that skips deleted agents must not skip
	// every agent after a misconfiguration.
	ErrAgentNotFound = errors.New("agents: agent not found")
	// ErrRateLimitExceeded reports a 429 rate_limit_exceeded that the
	// client gave up waiting out. [APIError.RetryAfter] says when the
	// server will accept requests again, when it said so.
	ErrRateLimitExceeded = errors.New("agents: rate limit exceeded")
)

// The documented error codes.
const (
	codeInvalidRequest = "invalid_request"
	codeUnauthorized   = "unauthorized"
	codeForbidden      = "forbidden"
	codeAgentNotFound  = "agent_not_found"
	codeRateLimited    = "rate_limit_exceeded"
)

// APIError is a non-2xx response that the client gave up on: either one it
// never retries (most 4xx) or the last of its retries.
//
// Use [errors.Is] with the sentinels to tell the documented errors apart,
// and [errors.As] to reach the fields.
type APIError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code is the server's error code, such as "agent_not_found". When the
	// body carries none (an HTML page from a proxy, an empty body), it is
	// derived from the status.
	Code string
	// Message is the server's message, or a short excerpt of a body that
	// was not a documented error body.
	Message string
	// RequestID is the X-Request-Id response header, when sent. Quote it
	// when asking the API's operators about a failure.
	RequestID string
	// RetryAfter is how long the server asked the client to wait, from
	// the Retry-After header, when sent.
	RetryAfter time.Duration
	// Header holds the response's headers, for the ones the fields above
	// do not cover (rate-limit headers, a gateway's trace id). It is nil
	// when the Client refused to send because of a hold it would not
	// wait out.
	Header http.Header
	// Attempts is how many requests the call sent before giving up: 1
	// when the first was not retried, 0 when nothing was sent.
	Attempts int
}

// Error returns a message a person can act on, such as
// "agents: 404 agent_not_found: no agent "agt_x" (request req_123)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "agents: %d %s", e.StatusCode, e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.StatusCode == http.StatusNotFound && e.Code != codeAgentNotFound {
		b.WriteString("; the API did not say agent_not_found, so check the base URL (AGENTS_BASE_URL or WithBaseURL)")
	}
	var extra []string
	if e.RetryAfter > 0 {
		extra = append(extra, "retry after "+e.RetryAfter.Round(time.Millisecond).String())
	}
	if e.RequestID != "" {
		extra = append(extra, "request "+e.RequestID)
	}
	if len(extra) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(extra, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is the sentinel for e's code, or, when the code
// is missing or not one of the documented ones, for e's status, except
// 404: a 404 is [ErrAgentNotFound] only when the server says
// agent_not_found.
func (e *APIError) Is(target error) bool {
	s := sentinelForCode(e.Code)
	if s == nil && e.StatusCode != http.StatusNotFound {
		s = sentinelForStatus(e.StatusCode)
	}
	return s != nil && s == target
}

// documented is the API's error table: status, code and sentinel.
var documented = [...]struct {
	status int
	code   string
	err    error
}{
	{http.StatusBadRequest, codeInvalidRequest, ErrInvalidRequest},
	{http.StatusUnauthorized, codeUnauthorized, ErrUnauthorized},
	{http.StatusForbidden, codeForbidden, ErrForbidden},
	{http.StatusNotFound, codeAgentNotFound, ErrAgentNotFound},
	{http.StatusTooManyRequests, codeRateLimited, ErrRateLimitExceeded},
}

func sentinelForCode(code string) error {
	for _, d := range documented {
		if d.code == code {
			return d.err
		}
	}
	return nil
}

func sentinelForStatus(status int) error {
	for _, d := range documented {
		if d.status == status {
			return d.err
		}
	}
	return nil
}

// codeForStatus names a body-less error after its status, so that Code is
// never empty: the documented code, else "internal_server_error",
// "bad_gateway", ... from the status text. A 404 is "not_found": only the
// server can say that an agent does not exist.
func codeForStatus(status int) string {
	for _, d := range documented {
		if d.status == status && status != http.StatusNotFound {
			return d.code
		}
	}
	if text := http.StatusText(status); text != "" {
		return strings.ReplaceAll(strings.ToLower(text), " ", "_")
	}
	return fmt.Sprintf("http_%d", status)
}

// invalidf reports input rejected before any request was sent.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidRequest}, args...)...)
}
