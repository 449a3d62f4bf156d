package agentsotel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	agents "github.com/agentsapi/agents-go"
)

func TestErrorType(t *testing.T) {
	t.Parallel()
	urlErr := func(err error) error { return &url.Error{Op: "Get", URL: "http://127.0.0.1/x", Err: err} }
	for _, tc := range []struct {
		status int
		err    error
		want   string
	}{
		{404, nil, "404"},
		{200, nil, "_OTHER"},
		{0, &agents.APIError{StatusCode: 503}, "503"},
		{200, fmt.Errorf("agents: %w", &agents.APIError{StatusCode: 429}), "429"},
		{0, fmt.Errorf("agents: %w after 1 attempt", context.Canceled), "canceled"},
		{0, fmt.Errorf("agents: %w", context.DeadlineExceeded), "timeout"},
		{0, urlErr(os.ErrDeadlineExceeded), "timeout"},
		{0, urlErr(&net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}), "dns_error"},
		{0, urlErr(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), "connection_refused"},
		{0, urlErr(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), "connection_reset"},
		{200, fmt.Errorf("agents: reading response body: %w", io.ErrUnexpectedEOF), "response_incomplete"},
		{0, urlErr(io.EOF), "connection_closed"},
		{200, errors.New("agents: response is not a valid sessions page"), "_OTHER"},
	} {
		if got := errorType(tc.status, tc.err); got != tc.want {
			t.Errorf("errorType(%d, %v) = %q, want %q", tc.status, tc.err, got, tc.want)
		}
	}
}
