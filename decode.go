package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// MaxResponseBytes is the largest page response the client reads. A larger
// body fails the call with an error that says so; it is never buffered
// whole. The largest legitimate page (100 sessions) is a small fraction of
// it.
const MaxResponseBytes = 10 << 20

// errTooLarge is not retried: the same request would get the same body.
var errTooLarge = fmt.Errorf("agents: response body exceeds the %d MiB limit", MaxResponseBytes>>20)

// bufPool keeps page buffers between calls so that a long walk does not
// allocate a fresh body buffer per page.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps one freak page from pinning megabytes in the pool.
const maxPooledBuffer = 1 << 20

// readError marks a failure to read a response body: the connection broke
// or the body was cut off, so the request is worth retrying.
type readError struct{ err error }

func (e *readError) Error() string {
	return "agents: reading response body: " + e.err.Error()
}
func (e *readError) Unwrap() error { return e.err }

// decodeError marks a complete body that is not a valid page; retrying
// would fetch the same bytes again.
type decodeError struct{ err error }

func (e *decodeError) Error() string {
	return "agents: response is not a valid sessions page: " + e.err.Error()
}
func (e *decodeError) Unwrap() error { return e.err }

// readPage reads a page body through the size cap and decodes it.
func readPage(body io.Reader, contentLength int64) (*SessionPage, error) {
	if contentLength > MaxResponseBytes {
		return nil, errTooLarge
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(body, MaxResponseBytes+1)); err != nil {
		return nil, &readError{err}
	}
	if buf.Len() > MaxResponseBytes {
		return nil, errTooLarge
	}
	return parsePage(buf.Bytes())
}

// pageWire tells a missing or null "sessions" apart from an empty list: a
// 200 without one is not a page, and treating it as an empty last page
// would end a walk early and silently.
type pageWire struct {
	Sessions *[]Session   `json:"sessions"`
	Metadata PageMetadata `json:"metadata"`
}

// parsePage decodes a complete page body. The common case, every metadata
// value a string, decodes once straight into the public types; only a page
// that breaks that pays for a second, lenient decode.
func parsePage(data []byte) (*SessionPage, error) {
	var w pageWire
	err := json.Unmarshal(data, &w)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return parseLenientPage(data)
	}
	if err != nil {
		return nil, &decodeError{truncation(err)}
	}
	return w.page()
}

func (w *pageWire) page() (*SessionPage, error) {
	if w.Sessions == nil {
		return nil, &decodeError{errors.New(`no "sessions" list in the body`)}
	}
	return &SessionPage{Sessions: *w.Sessions, Metadata: w.Metadata}, nil
}

// lenientSession shadows Session.Metadata (same JSON name, shallower
// depth) with a type that accepts any JSON value.
type lenientSession struct {
	Session
	Metadata lenientMetadata `json:"metadata"`
}

type lenientMetadata map[string]string

// UnmarshalJSON keeps a non-string value as its compact JSON text, and
// null as "", so that one odd value never fails a whole page.
func (m *lenientMetadata) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		*m = nil
		return nil
	}
	out := make(lenientMetadata, len(raw))
	for k, v := range raw {
		out[k] = jsonText(v)
	}
	*m = out
	return nil
}

// jsonText returns a JSON string's value, "" for null, and the compact
// text of anything else.
func jsonText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, v) == nil {
		return b.String()
	}
	return string(v)
}

func parseLenientPage(data []byte) (*SessionPage, error) {
	var w struct {
		Sessions *[]lenientSession `json:"sessions"`
		Metadata PageMetadata      `json:"metadata"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, &decodeError{truncation(err)}
	}
	if w.Sessions == nil {
		return nil, &decodeError{errors.New(`no "sessions" list in the body`)}
	}
	page := &SessionPage{Sessions: make([]Session, len(*w.Sessions)), Metadata: w.Metadata}
	for i, ls := range *w.Sessions {
		s := ls.Session
		s.Metadata = map[string]string(ls.Metadata)
		page.Sessions[i] = s
	}
	return page, nil
}

// truncation turns JSON that stops in the middle of a value into a
// readError: a body cut off by a dropped connection looks like that even
// when the transport saw a clean end (no Content-Length), and a retry can
// mend it, while a body that is complete but wrong cannot be mended.
func truncation(err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input" {
		return &readError{io.ErrUnexpectedEOF}
	}
	return err
}
