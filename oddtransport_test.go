package agents_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// oddTransport answers as a broken or hostile RoundTripper may.
type oddTransport struct {
	resp *http.Response
	err  error
}

func (o oddTransport) RoundTrip(*http.Request) (*http.Response, error) {
	if o.resp == nil {
		return nil, o.err
	}
	r := *o.resp
	return &r, o.err
}

// TestOddTransportAnswers pins the error a caller sees when the
// RoundTripper given to WithHTTPClient answers oddly, on the fast path
// and through the *http.Client.
func TestOddTransportAnswers(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	for _, tt := range []struct {
		name    string
		rt      oddTransport
		wantIs  error
		wantMsg string // the error's text, "" for a page
	}{
		{name: "nil, nil", wantMsg: "agents: Get \"{base}/v2/agents/agt_customer_support/sessions\": http: RoundTripper implementation (agents_test.oddTransport) returned a nil *Response with a nil error"},
		{name: "error", rt: oddTransport{err: boom}, wantIs: boom, wantMsg: "agents: Get \"{base}/v2/agents/agt_customer_support/sessions\": boom"},
		{name: "nil Body, empty", rt: oddTransport{resp: &http.Response{StatusCode: 200, ContentLength: 0}},
			wantMsg: "agents: response is not a valid sessions page: unexpected end of JSON input"},
		{name: "nil Body, with a length", rt: oddTransport{resp: &http.Response{StatusCode: 200, ContentLength: 10}},
			wantMsg: "agents: Get \"{base}/v2/agents/agt_customer_support/sessions\": http: RoundTripper implementation (agents_test.oddTransport) returned a *Response with content length 10 but a nil Body"},
		{name: "302 without Location", rt: oddTransport{resp: &http.Response{StatusCode: 302, Body: http.NoBody}},
			wantMsg: "agents: 302 found: empty response body"},
	} {
		for _, jar := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s jar=%v", tt.name, jar), func(t *testing.T) {
				t.Parallel()
				hc := &http.Client{Transport: tt.rt}
				if jar {
					hc.Jar, _ = cookiejar.New(nil)
				}
				const base = "https://agents.invalid"
				c, err := agents.NewClient(agents.WithBaseURL(base), agents.WithAPIKey(fakeapi.DefaultKey),
					agents.WithHTTPClient(hc), agents.WithMaxRetries(0))
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{})
				got := ""
				if err != nil {
					got = strings.ReplaceAll(err.Error(), base, "{base}")
				}
				if got != tt.wantMsg {
					t.Errorf("err = %q\nwant  %q", got, tt.wantMsg)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
				}
				var uerr *url.Error
				if tt.wantIs != nil && !errors.As(err, &uerr) {
					t.Errorf("err = %v; want a *url.Error inside, as net/http gives", err)
				}
			})
		}
	}
}
