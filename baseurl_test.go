package agents_test

import (
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
