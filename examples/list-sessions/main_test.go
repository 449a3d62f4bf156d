package main

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/agentsapi/agents-go/agentstest"
)

func TestRunAgainstEmbeddedServer(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out strings.Builder
	if err := run([]string{"-limit", "2"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"ase_customer_support_001", "ase_customer_support_002", "2 of ", "-page-key "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRunJSONAndFilter(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out strings.Builder
	if err := run([]string{"-json", "-enabled", "false"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, `"id": "ase_customer_support_003"`) || strings.Contains(got, "_001") {
		t.Errorf("want only the disabled session 003 as JSON:\n%s", got)
	}
}

func TestRunUnknownAgent(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	err := run([]string{"-agent", "agt_nobody"}, new(strings.Builder), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `no agent "agt_nobody"`) {
		t.Errorf("err = %v", err)
	}
}

func TestRunMaxWalksAndVerbose(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out, diag strings.Builder
	if err := run([]string{"-agent", "agt_sales_assistant", "-max", "150", "-v"}, &out, &diag); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"ase_sales_assistant_0000000", "ase_sales_assistant_0000149", "150 of 250 sessions", "-page-key "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ase_sales_assistant_0000150") {
		t.Errorf("output goes past -max 150:\n%s", got)
	}
	// The wait is whatever the machine took; the rest is fixed.
	want := regexp.MustCompile(`^page 1: 100 sessions, request req_000001, 1 attempt\(s\), waited \S+\n` +
		`page 2: 50 sessions, request req_000002, 1 attempt\(s\), waited \S+\n$`)
	if got := diag.String(); !want.MatchString(got) {
		t.Errorf("-v printed\n%s\nwant it to match %s", got, want)
	}
}

// TestRunHungServer: the message says how long it waited, how many
// attempts went where, and what to check.
func TestRunHungServer(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var host string
	prepareFake = func(s *agentstest.Server) {
		host = strings.TrimPrefix(strings.TrimSuffix(s.URL, "/api"), "http://")
		s.Script(agentstest.Hang())
	}
	t.Cleanup(func() { prepareFake = nil })
	err := run([]string{"-timeout", "200ms"}, new(strings.Builder), io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline", err)
	}
	for _, want := range []string{"no page within -timeout 200ms", "after 1 attempt to " + host + " in "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to say %q", err, want)
		}
	}
}

// TestHelp: -h exits 0 (run returns nil) and lists the fake's agents.
func TestHelp(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out strings.Builder
	if err := run([]string{"-h"}, io.Discard, &out); err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"-page-key", "agt_customer_support", "127 sessions", "agt_restricted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}
