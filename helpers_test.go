package agents_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// setup starts a fake API under a non-root base path and a Client for it
// with millisecond retry waits; both are cleaned up with the test. Options
// given override the defaults.
func setup(t testing.TB, opts ...agents.Option) (*fakeapi.Server, *agents.Client) {
	t.Helper()
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	return srv, newClient(t, srv, opts...)
}

func newClient(t testing.TB, srv *fakeapi.Server, opts ...agents.Option) *agents.Client {
	t.Helper()
	base := []agents.Option{
		agents.WithBaseURL(srv.URL),
		agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithHTTPClient(srv.Client()),
		agents.WithRetryBackoff(time.Millisecond, 4*time.Millisecond),
	}
	c, err := agents.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

// ignoreResponse and ignoreErrorDetails leave out of a comparison what
// describes the exchange (headers with dates, attempt counts, waits) rather
// than the page or error; response_test.go checks those.
var (
	ignoreResponse     = cmpopts.IgnoreFields(agents.SessionPage{}, "Response")
	ignoreErrorDetails = cmpopts.IgnoreFields(agents.APIError{}, "Header", "Attempts")
)
