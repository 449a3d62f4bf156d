package agents_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// keepingTransport fails the first attempt of every call with a
// retryable error and keeps the request it failed, as a transport that
// still writes it in the background may; the rest go to next.
type keepingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	kept []*http.Request
	urls []string // each kept request's URL when it was kept
	fail bool
}

func (k *keepingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	k.mu.Lock()
	fail := !k.fail
	k.fail = fail
	if fail {
		k.kept = append(k.kept, req)
		k.urls = append(k.urls, req.URL.String())
	}
	k.mu.Unlock()
	if fail {
		return nil, errors.New("connection reset, request kept")
	}
	return k.next.RoundTrip(req)
}

// TestAttemptRequestKeptAfterTransportError checks that a request a
// transport failed is never reused for a later attempt or call: the
// RoundTripper contract allows reuse once a response's body is closed,
// but not after an error, when the transport may still hold it. (The
// Client once kept one request per pooled call; this guards any return
// to that.)
func TestAttemptRequestKeptAfterTransportError(t *testing.T) {
	t.Parallel()
	srv := fakeapi.New()
	t.Cleanup(srv.Close)
	kt := &keepingTransport{next: srv.Client().Transport}
	c := newClient(t, srv, agents.WithHTTPClient(&http.Client{Transport: kt}))
	ctx := context.Background()
	for i, limit := range []int{1, 2, 3, 4} {
		if _, err := c.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{Limit: limit}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	kt.mu.Lock()
	defer kt.mu.Unlock()
	if len(kt.kept) != 4 {
		t.Fatalf("%d requests failed, want 4 (one per call)", len(kt.kept))
	}
	// A failed attempt's context is not checked for being cancelled:
	// attempts share their bound (attemptbound.go), which ends at its
	// deadline or with the call's context, not with one attempt.
	var got []string
	for _, req := range kt.kept {
		got = append(got, req.URL.String())
	}
	if diff := cmp.Diff(kt.urls, got); diff != "" {
		t.Errorf("failed requests changed after the transport let them go (-want +got):\n%s", diff)
	}
}
