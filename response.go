package agents

import (
	"net/http"
	"time"
)

// ResponseInfo says how a page was fetched: which response it came from
// and what it took to get it. A dashboard can log the request id of a good
// page; an ops tool can see that a page needed three attempts and four
// seconds of waiting.
type ResponseInfo struct {
	// StatusCode is the HTTP status of the response the page came from.
	StatusCode int
	// Header holds that response's headers. It is the response's own map,
	// shared with nobody else; modifying it changes only this page.
	Header http.Header
	// RequestID is the X-Request-Id response header, when sent.
	RequestID string
	// Attempts is how many requests the call sent: 1 when the first
	// attempt succeeded.
	Attempts int
	// Waited is the time the call spent waiting before its attempts:
	// retry waits, the Client-wide hold after a 429, and pacing. It is
	// not the time the server took.
	Waited time.Duration
}

// requestID reads X-Request-Id for a page or an error. The server's id is
// almost always short printable ASCII, which needs no copy; anything else
// goes through clean, so that no header can forge a log line.
func requestID(h http.Header) string {
	v := h.Get("X-Request-Id")
	if len(v) > 200 {
		return clean(v, 200)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return clean(v, 200)
		}
	}
	return v
}

// info is the ResponseInfo of the response resp, fetched by cl.
func (cl *call) info(resp *http.Response) ResponseInfo {
	return ResponseInfo{
		StatusCode: resp.StatusCode,
		Header:     resp.Header,
		RequestID:  requestID(resp.Header),
		Attempts:   cl.attempts,
		Waited:     cl.waited,
	}
}
