package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

const agent = "agt_sales_assistant"

// fake replaces the embedded server's setup for one test: 5000 sessions
// with no rate limit, then script, and hands the server back on the
// returned channel once run has started it. Tests that use it cannot run
// in parallel (nor can any that set the environment).
func fake(t *testing.T, script ...agentstest.Fault) <-chan *agentstest.Server {
	t.Setenv("AGENTS_BASE_URL", "")
	ch := make(chan *agentstest.Server, 1)
	old := prepareFake
	t.Cleanup(func() { prepareFake = old })
	prepareFake = func(s *agentstest.Server) {
		s.AddGeneratedAgent(agent, 5000)
		s.Script(script...)
		ch <- s
	}
	return ch
}

// dirFiles lists the names in dir, to catch a temporary or partial file
// left behind.
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// checkExport reads a JSON-lines export and checks that it holds every
// generated session once, in order.
func checkExport(t *testing.T, path string, want int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for sc.Scan() {
		var s agents.Session
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if w := agentstest.GeneratedSession(agent, i).ID; s.ID != w {
			t.Fatalf("line %d is %s, want %s: lost or repeated across the resume", i+1, s.ID, w)
		}
		i++
	}
	if i != want {
		t.Errorf("%d sessions in the file, want %d", i, want)
	}
}

var resumeKey = regexp.MustCompile(`-resume (\S+)`)

// TestFailureLeavesExportIntact: an error before or at the first page
// must leave an existing export byte for byte as it was, leave no other
// file behind, and offer no resume, which could not help.
func TestFailureLeavesExportIntact(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		partial bool // a .partial from an earlier run exists
		script  []agentstest.Fault
		wantErr string
	}{
		{name: "unknown agent", args: []string{"-agent", "agt_nobody"}, wantErr: `no agent "agt_nobody": check -agent; nothing was written`},
		{name: "agent off the pattern", args: []string{"-agent", "sales"}, wantErr: "check -agent and -limit; nothing was written"},
		{name: "limit over 100", args: []string{"-limit", "500"}, wantErr: "-limit: want 1..100"},
		{name: "bad format", args: []string{"-format", "xml"}, wantErr: "-format: want jsonl or csv"},
		{name: "403", args: nil, script: []agentstest.Fault{agentstest.Error(403, "")}, wantErr: "may not read"},
		{name: "401", args: nil, script: []agentstest.Fault{agentstest.Error(401, "")}, wantErr: "check AGENTS_API_KEY"},
		{name: "resume with no partial file", args: []string{"-resume", "eyJzZXNzaW9uX2lkIjoieCJ9"}, wantErr: "there is no "},
		{name: "garbage resume key", args: []string{"-resume", "garbage"}, partial: true, wantErr: "out.jsonl.partial is unchanged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake(t, tt.script...)
			dir := t.TempDir()
			out := filepath.Join(dir, "out.jsonl")
			old := []byte("{\"id\":\"an earlier, complete export\"}\n")
			if err := os.WriteFile(out, old, 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.partial {
				if err := os.WriteFile(out+".partial", old, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := dirFiles(t, dir)
			var stderr strings.Builder
			err := run(context.Background(), append([]string{"-o", out}, tt.args...), &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			for _, bad := range []string{"to carry on", "PageKey", "(("} {
				if strings.Contains(err.Error()+stderr.String(), bad) {
					t.Errorf("output has %q:\n%v\n%s", bad, err, stderr.String())
				}
			}
			for _, name := range before {
				got, _ := os.ReadFile(filepath.Join(dir, name))
				if diff := cmp.Diff(old, got); diff != "" {
					t.Errorf("%s changed (-want +got):\n%s", name, diff)
				}
			}
			if diff := cmp.Diff(before, dirFiles(t, dir)); diff != "" {
				t.Errorf("files in the directory (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInterruptAndResume interrupts an export as Ctrl-C does, while a
// request hangs after four pages, then resumes it with the printed key.
func TestInterruptAndResume(t *testing.T) {
	srvs := fake(t, agentstest.Pass(), agentstest.Pass(), agentstest.Pass(), agentstest.Pass(), agentstest.Hang())
	dir := t.TempDir()
	out := filepath.Join(dir, "s.jsonl")
	old := []byte("an earlier export\n")
	if err := os.WriteFile(out, old, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		srv := <-srvs
		for len(srv.Requests()) < 5 {
			// The fifth request is the one that hangs.
			runtimeGosched()
		}
		cancel()
	}()
	var stderr strings.Builder
	if err := run(ctx, []string{"-o", out, "-limit", "100"}, &stderr); !errors.Is(err, errInterrupted) {
		t.Fatalf("interrupted run: err = %v, want errInterrupted (exit status 130)", err)
	}
	t.Logf("first run:\n%s", stderr.String())
	if !strings.Contains(stderr.String(), "interrupted; 400 sessions are kept in "+out+".partial") {
		t.Errorf("first run's summary:\n%s", stderr.String())
	}
	if got, _ := os.ReadFile(out); string(got) != string(old) {
		t.Errorf("the earlier export changed before the new one was complete: %q", got)
	}
	checkExport(t, out+".partial", 400)
	m := resumeKey.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no resume key printed:\n%s", stderr.String())
	}

	fake(t)
	stderr.Reset()
	if err := run(context.Background(), []string{"-o", out, "-limit", "100", "-resume", m[1]}, &stderr); err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed run:\n%s", stderr.String())
	if want := "wrote 5000 sessions to " + out + " (400 kept from before, 4600 fetched now)\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("resumed run's summary:\n%s\nwant it to end %q", stderr.String(), want)
	}
	checkExport(t, out, 5000)
	if diff := cmp.Diff([]string{"s.jsonl"}, dirFiles(t, dir)); diff != "" {
		t.Errorf("files in the directory (-want +got):\n%s", diff)
	}
}

// TestServerErrorThenResume: retries running out on a 503 mid-export is
// worth a resume; the error says so, without Go names.
func TestServerErrorThenResume(t *testing.T) {
	script := []agentstest.Fault{agentstest.Pass(), agentstest.Pass()}
	for range 4 { // the first attempt and three retries
		script = append(script, agentstest.Error(503, ""))
	}
	fake(t, script...)
	dir := t.TempDir()
	out := filepath.Join(dir, "s.csv")
	var stderr strings.Builder
	err := run(context.Background(), []string{"-o", out, "-limit", "50", "-retry-for", "0"}, &stderr)
	if err == nil {
		t.Fatal("no error")
	}
	t.Logf("error:\n%v", err)
	m := resumeKey.FindStringSubmatch(err.Error())
	if m == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "PageKey") || strings.Contains(err.Error(), "((") {
		t.Fatalf("err = %v, want the 503 and the -resume command", err)
	}
	fake(t)
	if err := run(context.Background(), []string{"-o", out, "-limit", "50", "-resume", m[1]}, &stderr); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 5001 || lines[0] != strings.Join(csvHeader, ",") || slices.Contains(lines[1:], lines[0]) {
		t.Errorf("%d lines, header %q; want one header and 5000 sessions", len(lines), lines[0])
	}
	if !strings.HasPrefix(lines[101], agentstest.GeneratedSession(agent, 100).ID+",") {
		t.Errorf("line 102 = %q, want session 100 right after the resume", lines[101])
	}
}

// TestInterruptBeforeFirstPage: with nothing written and no key, there
// is nothing to resume, and nothing may be left behind.
func TestInterruptBeforeFirstPage(t *testing.T) {
	fake(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr strings.Builder
	err := run(ctx, []string{"-o", filepath.Join(dir, "s.jsonl")}, &stderr)
	if err == nil || !strings.Contains(err.Error(), "interrupted before the first page; nothing was written") || strings.Contains(err.Error()+stderr.String(), "-resume") {
		t.Errorf("err = %v\n%s", err, stderr.String())
	}
	if files := dirFiles(t, dir); len(files) != 0 {
		t.Errorf("left behind: %v", files)
	}
}

// TestHelp: -h is not an error, and lists what the embedded fake holds.
func TestHelp(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	var stderr strings.Builder
	if err := run(context.Background(), []string{"-h"}, &stderr); err != nil {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{"-resume", "agt_sales_assistant", "5000 sessions", "agt_customer_support", "127 sessions"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stderr.String())
		}
	}
}
