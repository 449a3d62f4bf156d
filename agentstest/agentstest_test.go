package agentstest

import (
	"testing"

	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// The constants are spelled out for go doc; they must stay the server's.
func TestConstantsMatchTheServer(t *testing.T) {
	if DefaultKey != fakeapi.DefaultKey || RestrictedAgent != fakeapi.RestrictedAgent {
		t.Errorf("agentstest constants (%q, %q) differ from the server's (%q, %q)",
			DefaultKey, RestrictedAgent, fakeapi.DefaultKey, fakeapi.RestrictedAgent)
	}
}
