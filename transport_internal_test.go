package agents

import (
	"net/http"
	"testing"
)

// TestOwnTransportKeepsIdleConns checks that the default Client keeps
// enough idle connections for many goroutines on one host, without
// touching http.DefaultTransport.
func TestOwnTransportKeepsIdleConns(t *testing.T) {
	t.Parallel()
	c, err := NewClient(WithAPIKey("k"), WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := c.hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T, want *http.Transport", c.hc.Transport)
	}
	if tr == http.DefaultTransport {
		t.Fatal("the Client uses http.DefaultTransport itself, not a copy")
	}
	if tr.MaxIdleConnsPerHost != idleConnsPerHost || tr.MaxIdleConns != 0 && tr.MaxIdleConns < idleConnsPerHost {
		t.Errorf("MaxIdleConnsPerHost %d, MaxIdleConns %d; want %d and at least as many", tr.MaxIdleConnsPerHost, tr.MaxIdleConns, idleConnsPerHost)
	}
	if def := http.DefaultTransport.(*http.Transport); def.MaxIdleConnsPerHost == idleConnsPerHost {
		t.Errorf("http.DefaultTransport was changed: MaxIdleConnsPerHost %d", def.MaxIdleConnsPerHost)
	}
}
