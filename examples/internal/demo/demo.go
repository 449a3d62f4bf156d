// Package demo gives the example programs a Client: for the real API when
// AGENTS_BASE_URL is set, otherwise for a fake API started in-process, so
// that every example runs with no setup.
package demo

import (
	"fmt"
	"os"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

// Client returns a Client and a function to call when done. With no
// AGENTS_BASE_URL it starts the embedded fake server and says so on
// stderr; prepare, if not nil, can then add agents or faults to it.
func Client(prepare func(*agentstest.Server), opts ...agents.Option) (*agents.Client, func(), error) {
	if os.Getenv("AGENTS_BASE_URL") != "" {
		c, err := agents.NewClient(opts...)
		return c, func() {}, err
	}
	srv := agentstest.NewServer()
	fmt.Fprintf(os.Stderr, "AGENTS_BASE_URL is not set: using the embedded fake API at %s\n", srv.URL)
	fmt.Fprintf(os.Stderr, "(set AGENTS_BASE_URL and AGENTS_API_KEY to talk to the real one)\n\n")
	if prepare != nil {
		prepare(srv)
	}
	// The examples show what a Client does in production: real waits and
	// adaptive pacing, not the test kit's shortcuts.
	c, err := srv.NewRealTimeClient(opts...)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return c, srv.Close, nil
}
