package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"
)

// labServer is one cell's loopback server: the shape's limiter in front
// of a handler that serves pageJSON, with a count of the answers it sent
// so that the 429s are the server's figure, not the clients' guess.
type labServer struct {
	*httptest.Server
	release func()
	sent200 atomic.Int64
	sent429 atomic.Int64
	other   atomic.Int64
	trace   *secondCounts // 429s per second since start
}

func newLabServer(s shape, d time.Duration, trace *secondCounts) (*labServer, error) {
	ls := &labServer{trace: trace}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != sessionsPath {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"agent_not_found","message":"no such agent"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(pageJSON))
	})
	limited, release, err := s.wrap(page, d)
	if err != nil {
		return nil, err
	}
	ls.release = release
	ls.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		limited.ServeHTTP(sw, r)
		switch sw.status {
		case 0, http.StatusOK:
			ls.sent200.Add(1)
		case http.StatusTooManyRequests:
			ls.sent429.Add(1)
			ls.trace.add(time.Now())
		default:
			ls.other.Add(1)
		}
	}))
	return ls, nil
}

func (ls *labServer) Close() {
	ls.Server.Close()
	ls.release()
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// secondCounts counts events per whole second since start, for -trace.
// Events past the last slot are dropped.
type secondCounts struct {
	start time.Time
	n     []atomic.Int64
}

func newSecondCounts(start time.Time, d time.Duration) *secondCounts {
	return &secondCounts{start: start, n: make([]atomic.Int64, int(d/time.Second)+2)}
}

func (c *secondCounts) add(t time.Time) {
	if c == nil {
		return
	}
	i := int(t.Sub(c.start) / time.Second)
	if i >= 0 && i < len(c.n) {
		c.n[i].Add(1)
	}
}

func (c *secondCounts) at(i int) int64 {
	if c == nil || i < 0 || i >= len(c.n) {
		return 0
	}
	return c.n[i].Load()
}
