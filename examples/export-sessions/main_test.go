package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
)

func TestExportInterruptAndResume(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	out := filepath.Join(t.TempDir(), "s.jsonl")

	// Cancel, as Ctrl-C does, part-way through the export.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(700*time.Millisecond, cancel)
	var progress strings.Builder
	if err := run(ctx, []string{"-o", out, "-limit", "100"}, &progress); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`-resume (\S+)`).FindStringSubmatch(progress.String())
	if m == nil {
		t.Fatalf("no resume key printed:\n%s", progress.String())
	}
	progress.Reset()
	if err := run(context.Background(), []string{"-o", out, "-limit", "100", "-resume", m[1]}, &progress); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(out)
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
		if want := agentstest.GeneratedSession("agt_sales_assistant", i).ID; s.ID != want {
			t.Fatalf("line %d is %s, want %s: lost or repeated across the resume", i+1, s.ID, want)
		}
		i++
	}
	if i != 5000 {
		t.Errorf("%d sessions in the file, want 5000", i)
	}
}
