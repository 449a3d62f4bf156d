package agents_test

import (
	"os"
	"strings"
	"testing"

	agents "github.com/agentsapi/agents-go"
)

// TestMissingBaseURLSaysWhatItIs: a new user who has never set
// AGENTS_BASE_URL learns from the error what value it wants.
func TestMissingBaseURLSaysWhatItIs(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	_, err := agents.NewClient(agents.WithAPIKey("k"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"AGENTS_BASE_URL", "base URL for your deployment", "without /v2", "https://api.agents.example.com"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
}

// TestREADMESaysWhatBaseURLIs keeps the README and the missing-base-URL
// error in agreement: both say what the value is, with the same example.
func TestREADMESaysWhatBaseURLIs(t *testing.T) {
	t.Setenv("AGENTS_BASE_URL", "")
	_, err := agents.NewClient(agents.WithAPIKey("k"))
	if err == nil {
		t.Fatal("no error")
	}
	readme, rerr := os.ReadFile("README.md")
	if rerr != nil {
		t.Fatal(rerr)
	}
	for _, want := range []string{"base URL for your deployment", "https://api.agents.example.com"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q, which the error says", want)
		}
	}
	for _, want := range []string{"without `/v2`", "no default"} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}
