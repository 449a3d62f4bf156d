package main

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/examples/internal/demo"
)

// secondLine is one of the lines printed each second.
var secondLine = regexp.MustCompile(`(?m)^ +\d+s +\d+ +\d+ +\d+ +\d+ +\d+  \S+`)

func TestRun(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	tests := []struct {
		name    string
		args    []string
		want    []string // in the output
		notWant []string
		seconds int // lines printed a second, over all runs
	}{
		{
			name: "every run, shortened",
			args: []string{"-seconds", "2", "-compare-seconds", "1", "-workers", "4"},
			want: []string{
				"This takes about 4s (Ctrl-C stops it)",
				"the server allows 50 requests/s (burst 5)",
				"default Client (adaptive pacing), 4 workers, 2s:",
				"WithRateLimit(48, 1), 4 workers, 1s:",
				"no pacing, 4 workers, 1s:",
				"ok/s 429/s err/s holds in flight  pacing",
				"% of the limit",
				"Summary, 4 workers, server allowing 50 requests/s:",
				"% of limit  last half   429s errors",
			},
			seconds: 4,
		},
		{
			name:    "the default Client alone",
			args:    []string{"-seconds", "1", "-compare-seconds", "0", "-workers", "2"},
			want:    []string{"This takes about 1s", "default Client (adaptive pacing), 2 workers, 1s:", "% of the limit"},
			notWant: []string{"WithRateLimit", "no pacing", "Summary"},
			seconds: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, diag strings.Builder
			if err := run(context.Background(), tt.args, &out, &diag); err != nil {
				t.Fatalf("run: %v\n%s", err, diag.String())
			}
			got := out.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("output has %q:\n%s", w, got)
				}
			}
			if n := len(secondLine.FindAllString(got, -1)); n != tt.seconds {
				t.Errorf("%d lines a second; want %d:\n%s", n, tt.seconds, got)
			}
		})
	}
}

// Input that waiting cannot fix ends the run at once, with its error.
func TestRunFails(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	tests := []struct {
		name string
		args []string
		is   error // nil: any error
	}{
		{"unknown agent", []string{"-agent", "agt_nope", "-seconds", "5", "-compare-seconds", "0"}, agents.ErrAgentNotFound},
		{"no workers", []string{"-workers", "0"}, nil},
		{"unknown flag", []string{"-nope"}, demo.ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, diag strings.Builder
			err := run(context.Background(), tt.args, &out, &diag)
			if err == nil || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("run: %v; want an error matching %v", err, tt.is)
			}
			if strings.Contains(out.String(), "  1s ") {
				t.Errorf("a failing run went on for a second:\n%s", out.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var out, diag strings.Builder
	if err := run(context.Background(), []string{"-h"}, &out, &diag); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-compare-seconds", "agt_customer_support"} {
		if !strings.Contains(diag.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, diag.String())
		}
	}
}
