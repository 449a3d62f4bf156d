package agents

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"
)

// MaxResponseBytes is the largest page response the client reads. A larger
// body fails the call with an error that says so; it is never buffered
// whole. The largest legitimate page (100 sessions) is a small fraction of
// it.
const MaxResponseBytes = 10 << 20

// errTooLarge is not retried: the same request would get the same body.
var errTooLarge = fmt.Errorf("agents: response body exceeds the %d MiB limit", MaxResponseBytes>>20)

// bufPool keeps page buffers between calls so that a long walk does not
// allocate a fresh body buffer per page, nor a reader to cap it with.
var bufPool = sync.Pool{New: func() any { return new(pageBuf) }}

type pageBuf struct {
	bytes.Buffer
	lr io.LimitedReader
}

// maxPooledBuffer keeps one freak page from pinning megabytes in the pool.
const maxPooledBuffer = 1 << 20

// readError marks a failure to read a response body: the connection broke
// or the body was cut off, so the request is worth retrying.
type readError struct{ err error }

func (e *readError) Error() string {
	var timeout *attemptTimeoutError
	if errors.As(e.err, &timeout) {
		return timeout.Error() + " while reading the response body"
	}
	return "agents: reading response body: " + e.err.Error()
}
func (e *readError) Unwrap() error { return e.err }

// ErrorType names the failure for telemetry, as OpenTelemetry's
// error.type attribute wants it: short, and the same for every instance.
func (e *readError) ErrorType() string { return "response_incomplete" }

// decodeError marks a complete body that is not a valid page; retrying
// would fetch the same bytes again.
type decodeError struct{ err error }

func (e *decodeError) Error() string {
	return "agents: response is not a valid sessions page: " + e.err.Error()
}
func (e *decodeError) Unwrap() error { return e.err }

// ErrorType names the failure for telemetry; see readError.ErrorType.
func (e *decodeError) ErrorType() string { return "invalid_response" }

// readPage reads a page body through the size cap and decodes it. framed
// says whether the transport knew where the body ends (a Content-Length,
// chunked encoding, HTTP/2 frames): net/http then reports a body cut short
// as io.ErrUnexpectedEOF itself, so JSON that stops early was sent that way
// and a retry would fetch the same bytes. Only a body that ends where the
// connection closed may have been cut off without anyone noticing.
func readPage(body io.Reader, contentLength int64, framed bool) (*SessionPage, error) {
	if contentLength > MaxResponseBytes {
		return nil, errTooLarge
	}
	buf := bufPool.Get().(*pageBuf)
	buf.Reset()
	defer func() {
		buf.lr.R = nil // keep no body alive in the pool
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	}()
	buf.lr = io.LimitedReader{R: body, N: MaxResponseBytes + 1}
	if _, err := buf.ReadFrom(&buf.lr); err != nil {
		return nil, &readError{err}
	}
	if buf.Len() > MaxResponseBytes {
		return nil, errTooLarge
	}
	page, err := parsePage(buf.Bytes())
	if err != nil && !framed && endsEarly(err) {
		return nil, &readError{io.ErrUnexpectedEOF}
	}
	return page, err
}

// endsEarly reports whether a decode failed because the JSON stopped in
// the middle of a value.
func endsEarly(err error) bool {
	var syn *json.SyntaxError
	return errors.As(err, &syn) && syn.Error() == "unexpected end of JSON input"
}

var errNoSessions = errors.New(`no "sessions" list in the body`)

// parsePage decodes a complete page body. The common case, a page exactly
// as documented, decodes once straight into the public types; only a page
// that breaks that pays for a second, lenient decode, which tolerates
// what is harmless and otherwise says which field of which session is
// wrong. A missing or null "sessions" is told apart from an empty list
// (which encoding/json decodes as an empty, non-nil slice): a 200 without
// one is not a page, and treating it as an empty last page would end a
// walk early and silently.
func parsePage(data []byte) (*SessionPage, error) {
	page := new(SessionPage)
	err := json.Unmarshal(data, page)
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return nil, &decodeError{err}
	case err != nil:
		return parseLenientPage(data)
	case page.Sessions == nil:
		return nil, &decodeError{errNoSessions}
	}
	return page, nil
}

// lenientSession shadows Session.Metadata and Session.CreatedAt (same
// JSON names, shallower depth) with types that accept more and explain
// what they refuse.
type lenientSession struct {
	Session
	Metadata  lenientMetadata `json:"metadata"`
	CreatedAt lenientTime     `json:"created_at"`
}

type lenientMetadata map[string]string

// UnmarshalJSON keeps a non-string value as its compact JSON text, and
// null as "", so that one odd value never fails a whole page. An empty
// array is an empty object, as PHP's json_encode writes one.
func (m *lenientMetadata) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		*m = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var arr []json.RawMessage
		if json.Unmarshal(data, &arr) == nil && len(arr) == 0 {
			*m = lenientMetadata{}
			return nil
		}
		return &badField{"metadata", fmt.Sprintf("want an object, got %.40s", data)}
	}
	out := make(lenientMetadata, len(raw))
	for k, v := range raw {
		out[k] = jsonText(v)
	}
	*m = out
	return nil
}

// lenientTime is an RFC 3339 time, or null for the zero time, with an
// error that quotes what it got.
type lenientTime time.Time

func (t *lenientTime) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	var tt time.Time
	if err := tt.UnmarshalJSON(data); err != nil {
		return &badField{"created_at", fmt.Sprintf("%.40s is not an RFC 3339 time", data)}
	}
	*t = lenientTime(tt)
	return nil
}

// lenientCount is total_count: an integer, also when written as a float
// with no fraction (127.0, 1.27e2), as some encoders do.
type lenientCount int

func (c *lenientCount) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(data, &n); err == nil {
		if i, err := n.Int64(); err == nil && int64(int(i)) == i {
			*c = lenientCount(i)
			return nil
		}
		if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
			*c = lenientCount(f)
			return nil
		}
	}
	return &badField{"total_count", fmt.Sprintf("%.40s is not a whole number", data)}
}

type lenientPageMetadata struct {
	PageKey    string       `json:"page_key"`
	TotalCount lenientCount `json:"total_count"`
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
		Sessions *[]json.RawMessage `json:"sessions"`
		Metadata json.RawMessage    `json:"metadata"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, &decodeError{fieldError("", err)}
	}
	if w.Sessions == nil {
		return nil, &decodeError{errNoSessions}
	}
	page := &SessionPage{Sessions: make([]Session, len(*w.Sessions))}
	if len(w.Metadata) > 0 {
		var md lenientPageMetadata
		if err := json.Unmarshal(w.Metadata, &md); err != nil {
			return nil, &decodeError{fieldError("metadata", err)}
		}
		page.Metadata = PageMetadata{PageKey: md.PageKey, TotalCount: int(md.TotalCount)}
	}
	for i, raw := range *w.Sessions {
		var ls lenientSession
		if err := json.Unmarshal(raw, &ls); err != nil {
			var id struct {
				ID json.RawMessage `json:"id"`
			}
			json.Unmarshal(raw, &id)
			return nil, &decodeError{fmt.Errorf("session %d (id %s): %w", i, clean(string(id.ID), 100), fieldError("", err))}
		}
		s := ls.Session
		s.Metadata = map[string]string(ls.Metadata)
		s.CreatedAt = time.Time(ls.CreatedAt)
		page.Sessions[i] = s
	}
	return page, nil
}

// badField is a lenient type's refusal of a value; it names its field,
// since encoding/json adds no context to an Unmarshaler's error.
type badField struct{ field, msg string }

func (e *badField) Error() string { return e.field + ": " + e.msg }

// fieldError names the field a decode failed on, under prefix, in words
// rather than in terms of the Go types it was decoded into.
func fieldError(prefix string, err error) error {
	name := func(field string) string {
		if prefix != "" && field != "" {
			return prefix + "." + field
		}
		return prefix + field
	}
	var typeErr *json.UnmarshalTypeError
	var bad *badField
	switch {
	case errors.As(err, &typeErr):
		// The embedded Session's fields come named "Session.enabled".
		field := strings.TrimPrefix(typeErr.Field, "Session.")
		return fmt.Errorf("%s: got a JSON %s, want %s", name(field), typeErr.Value, typeErr.Type)
	case errors.As(err, &bad):
		return fmt.Errorf("%s: %s", name(bad.field), bad.msg)
	}
	return err
}
