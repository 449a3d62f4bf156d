package agents_test

import (
	"errors"
	"strings"
	"testing"

	agents "github.com/agentsapi/agents-go"
)

// TestPageErrorMessage: the message reaches people, not only programs:
// no Go field names, no doubled parentheses after an *APIError's own,
// and no key to resume from when there is none.
func TestPageErrorMessage(t *testing.T) {
	t.Parallel()
	apiErr := &agents.APIError{StatusCode: 404, Code: "agent_not_found", Message: "no agent", RequestID: "req_1"}
	tests := []struct {
		name string
		err  *agents.PageError
		want string
	}{
		{"first page", &agents.PageError{Err: apiErr},
			`agents: 404 agent_not_found: no agent (request req_1); the walk stopped at its first page`},
		{"later page", &agents.PageError{PageKey: "K2", Pages: 2, Err: errors.New("agents: connection reset")},
			`agents: connection reset; the walk stopped after 2 pages, at page key "K2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.err.Error()
			if got != tt.want {
				t.Errorf("Error() = %s\nwant      %s", got, tt.want)
			}
			if strings.Contains(got, "PageKey") || strings.Contains(got, "))") {
				t.Errorf("Error() = %s: Go names or doubled parentheses", got)
			}
		})
	}
}
