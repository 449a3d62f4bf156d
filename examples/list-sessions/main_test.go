package main

import (
	"strings"
	"testing"
)

func TestRunAgainstEmbeddedServer(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out strings.Builder
	if err := run([]string{"-limit", "2"}, &out); err != nil {
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
	if err := run([]string{"-json", "-enabled", "false"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, `"id": "ase_customer_support_003"`) || strings.Contains(got, "_001") {
		t.Errorf("want only the disabled session 003 as JSON:\n%s", got)
	}
}

func TestRunUnknownAgent(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	err := run([]string{"-agent", "agt_nobody"}, new(strings.Builder))
	if err == nil || !strings.Contains(err.Error(), `no agent "agt_nobody"`) {
		t.Errorf("err = %v", err)
	}
}
