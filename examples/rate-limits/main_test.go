package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out strings.Builder
	if err := run(context.Background(), []string{"-seconds", "2", "-workers", "4"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"adaptive pacing", "WithRateLimit(48, 1)", "no pacing", "pages/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
