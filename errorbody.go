package agents

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxErrorBody caps how much of an error response is read: a documented
// error body is tiny, and a proxy's HTML page need not be read whole.
const maxErrorBody = 64 << 10

// maxExcerpt is how much of an undocumented body an error message quotes:
// enough to recognise a proxy's page, not enough to flood a log.
const maxExcerpt = 200

// maxMessage bounds a server-supplied message or code before it reaches an
// error string.
const maxMessage = 1000

// apiErrorFrom builds the APIError for a non-2xx response and closes its
// body. It never fails: whatever the body holds, the caller gets an error
// it can act on.
func apiErrorFrom(resp *http.Response, now time.Time) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	e := parseErrorBody(resp.StatusCode, body)
	e.RequestID = clean(resp.Header.Get("X-Request-Id"), 200)
	e.Header = resp.Header
	if d, ok := retryAfter(resp.Header, now); ok {
		e.RetryAfter = d
	}
	return e
}

// parseErrorBody understands {"error": {"code", "message"}}, the flat
// {"code", "message"}, and {"error": "message"}; anything else becomes a
// short excerpt in Message and a Code derived from the status.
func parseErrorBody(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status}
	var w struct {
		Error   json.RawMessage `json:"error"`
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &w) == nil {
		code, msg := w.Code, w.Message
		if len(w.Error) > 0 && w.Error[0] == '{' {
			var inner struct {
				Code    json.RawMessage `json:"code"`
				Message json.RawMessage `json:"message"`
			}
			if json.Unmarshal(w.Error, &inner) == nil {
				code, msg = inner.Code, inner.Message
			}
		} else if len(w.Error) > 0 && len(msg) == 0 {
			msg = w.Error
		}
		e.Code = clean(jsonText(code), 100)
		e.Message = clean(jsonText(msg), maxMessage)
	} else {
		e.Message = excerpt(body)
	}
	if e.Code == "" {
		e.Code = codeForStatus(status)
	}
	return e
}

// excerpt quotes the start of a body that is not a documented error body.
func excerpt(body []byte) string {
	s, cut := cleanCut(string(body), maxExcerpt)
	if s == "" {
		return "empty response body"
	}
	if cut {
		s += "…"
	}
	return "unexpected response body: " + s
}

// clean makes server-supplied text safe to put in an error string or a
// log line: valid UTF-8, no control characters (so no forged log lines),
// runs of white space folded, at most max bytes.
func clean(s string, max int) string {
	s, _ = cleanCut(s, max)
	return s
}

// cleanCut is clean that also reports whether text was cut off at max.
func cleanCut(s string, max int) (string, bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			if b.Len()+1 > max {
				return b.String(), true
			}
			b.WriteByte(' ')
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > max {
			return b.String(), true
		}
		b.WriteRune(r)
	}
	return b.String(), false
}
