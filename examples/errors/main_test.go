package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out strings.Builder
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"caught before sending",
		"ErrAgentNotFound",
		"ErrForbidden",
		"ErrInvalidRequest from the server",
		"asks to wait 1h0m0s",
		"the client is holding back",
		"an undocumented 502 (bad_gateway)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
