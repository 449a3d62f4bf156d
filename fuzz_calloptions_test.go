package agents

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// FuzzWithHeader: any name and value are either refused with an
// ErrInvalidRequest that does not quote the value, or make a header that
// goes over the wire and back as exactly one field with exactly that
// value: no header can be split, injected or dropped.
func FuzzWithHeader(f *testing.F) {
	f.Add("X-Trace-Id", "abc")
	f.Add("x-tenant", "t1\tt2")
	f.Add("Authorization", "Bearer x")
	f.Add("X-A", "v\r\nX-B: injected")
	f.Add("X A", "v")
	f.Add("", "")
	f.Add("X-Ümlaut", "v")
	f.Add("X-V", "ünïcode ok")
	f.Fuzz(func(t *testing.T, name, value string) {
		o, err := applyCallOptions(callOptions{}, []CallOption{WithHeader(name, value)})
		if err != nil {
			if !errors.Is(err, ErrInvalidRequest) || !strings.HasPrefix(err.Error(), "agents: ") {
				t.Fatalf("err = %v, want an agents: ErrInvalidRequest", err)
			}
			// The name may be quoted, so what shows in the quoted name
			// may match the value; the value itself must not show.
			rest := strings.ReplaceAll(err.Error(), fmt.Sprintf("%.80q", name), "")
			if len(value) > 3 && strings.Contains(rest, value) {
				t.Fatalf("err %q quotes the value", err)
			}
			return
		}
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/v2", nil)
		req.Header = o.header
		var wire bytes.Buffer
		if err := req.Write(&wire); err != nil {
			t.Fatalf("writing a request with header %q: %v", name, err)
		}
		back, err := http.ReadRequest(bufio.NewReader(&wire))
		if err != nil {
			t.Fatalf("reading back a request with header %q: %v\n%s", name, err, wire.Bytes())
		}
		back.Header.Del("User-Agent") // net/http's own
		// Leading and trailing SP and HTAB are not part of a field value
		// (RFC 9110's OWS); other Unicode spaces, such as U+00A0, are.
		want := strings.Trim(value, " \t")
		if got := back.Header.Values(name); len(got) != 1 || got[0] != want || len(back.Header) != 1 {
			t.Fatalf("header %q: %q sent, %v received", name, value, back.Header)
		}
	})
}
