package agentsotel

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"

	agents "github.com/agentsapi/agents-go"
)

// errorType is the error.type of a failed attempt or call, which the
// conventions want of low cardinality: the status code for an error
// response, and for a failure without one a short name of what went
// wrong, "_OTHER" when it is none of these.
func errorType(status int, err error) string {
	var apiErr *agents.APIError
	var dnsErr *net.DNSError
	var netErr net.Error
	var typed interface{ ErrorType() string } // the SDK's own failures name themselves
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode > 0:
		return strconv.Itoa(apiErr.StatusCode)
	case errors.As(err, &typed):
		return typed.ErrorType()
	case err == nil && status >= 400:
		return strconv.Itoa(status)
	case err == nil:
		return "_OTHER"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &dnsErr):
		return "dns_error"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection_reset"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "response_incomplete"
	case errors.Is(err, io.EOF):
		return "connection_closed"
	}
	return "_OTHER"
}
