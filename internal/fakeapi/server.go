// Package fakeapi is an in-process implementation of the Agents API's
// session listing, for tests and examples: Bearer auth, per-agent
// permissions, opaque cursors, every documented error, X-Request-Id, an
// optional request-rate limit, and scripted or random faults.
package fakeapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Default credentials and base path of a new Server.
const (
	DefaultKey      = "sk_test_fake_0123456789"
	DefaultBasePath = "/api"
	// RestrictedAgent exists, but DefaultKey may not read it (403).
	RestrictedAgent = "agt_restricted"
)

// Request is what the server received, for tests to inspect.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Time   time.Time
	// Status is what the server answered; 0 for a dropped or hung
	// request, or one still being answered.
	Status int
}

// Stats counts what the server answered.
type Stats struct {
	Requests  int64 // every request received
	Served    int64 // 200 pages, faults aside
	Throttled int64 // 429s from the rate limit
	Faults    int64 // requests a scripted or random fault answered
	Conns     int64 // connections accepted
}

// Server is a running fake API. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give a client: the loopback address plus the
	// base path.
	URL string

	hs       *httptest.Server
	basePath string
	done     chan struct{}
	closing  sync.Once

	mu         sync.Mutex
	keys       map[string]map[string]bool // key -> agents it may read (nil: all)
	agents     map[string]source
	script     []Fault
	chaos      Chaos
	rng        *rand.Rand
	limiter    *rate.Limiter
	retryAfter string
	log        []Request
	keepLog    bool
	noSeed     bool
	cache      map[string][]byte // encoded 200 pages by URL, when caching

	seq, conns                         atomic.Int64
	requests, served, throttled, fault atomic.Int64
}

// Option configures New.
type Option func(*Server)

// WithBasePath mounts the API under p instead of DefaultBasePath; "" mounts
// it at the root.
func WithBasePath(p string) Option {
	return func(s *Server) { s.basePath = strings.TrimRight(p, "/") }
}

// WithoutSeed starts the server with no agents and no keys.
func WithoutSeed() Option {
	return func(s *Server) { s.noSeed = true }
}

// New starts a server on loopback. Unless WithoutSeed is given it holds:
// DefaultKey, which may read every agent but RestrictedAgent;
// agt_customer_support with the documentation's three sessions first
// among DocsTotal;
// agt_sales_assistant with 250 generated sessions; agt_empty with none.
func New(opts ...Option) *Server {
	s := &Server{
		basePath: DefaultBasePath,
		done:     make(chan struct{}),
		keys:     map[string]map[string]bool{},
		agents:   map[string]source{},
		rng:      rand.New(rand.NewPCG(1, 2)),
		keepLog:  true,
	}
	for _, o := range opts {
		o(s)
	}
	if !s.noSeed {
		s.AddAgent("agt_customer_support", DocsSessions())
		s.AddGeneratedAgent("agt_sales_assistant", 250)
		s.AddAgent("agt_empty", nil)
		s.AddGeneratedAgent(RestrictedAgent, 5)
		s.AddKey(DefaultKey, "agt_customer_support", "agt_sales_assistant", "agt_empty")
		s.AllowAll(DefaultKey)
	}
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.hs.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	// Aborted handlers (dropped connections) are faults on purpose; keep
	// the test log free of them.
	s.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.hs.Start()
	s.URL = s.hs.URL + s.basePath
	return s
}

// Close stops the server, ending hung requests first.
func (s *Server) Close() {
	s.closing.Do(func() {
		close(s.done)
		s.hs.CloseClientConnections()
		s.hs.Close()
	})
}

// Client returns an *http.Client that talks to the server.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// AddKey registers an API key that may read the given agents. With no
// agents it may read none (every agent answers 403) until AllowAll.
func (s *Server) AddKey(key string, agents ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.keys[key]
	if m == nil {
		m = map[string]bool{}
		s.keys[key] = m
	}
	for _, a := range agents {
		m[a] = true
	}
}

// AllowAll lets key read every agent except RestrictedAgent.
func (s *Server) AllowAll(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = nil
}

// AddAgent stores an agent with sessions, served in the order given.
func (s *Server) AddAgent(agentKey string, sessions []Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agents[agentKey] = newSliceSource(sessions)
}

// AddGeneratedAgent stores an agent whose n sessions are made on the fly
// (see GeneratedSession), so that n may be in the millions.
func (s *Server) AddGeneratedAgent(agentKey string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agents[agentKey] = genSource{agent: agentKey, prefix: genPrefix(agentKey), n: n}
}

// Script makes the next len(faults) requests, in order, meet faults.
func (s *Server) Script(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, faults...)
}

// SetChaos turns random faults on (Rate > 0) or off.
func (s *Server) SetChaos(c Chaos) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chaos = c
	s.rng = rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15))
}

// SetRateLimit makes the server accept at most r requests a second with
// bursts of burst, answering the rest 429 with the given Retry-After ("" for
// none). r <= 0 removes the limit.
func (s *Server) SetRateLimit(r float64, burst int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r <= 0 {
		s.limiter = nil
		return
	}
	s.limiter = rate.NewLimiter(rate.Limit(r), burst)
	s.retryAfter = retryAfter
}

// KeepLog turns recording of requests on (the default) or off, for runs
// too long to remember every request.
func (s *Server) KeepLog(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepLog = on
	if !on {
		s.log = nil
	}
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Requests:  s.requests.Load(),
		Served:    s.served.Load(),
		Throttled: s.throttled.Load(),
		Faults:    s.fault.Load(),
		Conns:     s.conns.Load(),
	}
}

var agentKeyPattern = regexp.MustCompile(`^agt_[0-9a-zA-Z_-]+$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	w.Header().Set("X-Request-Id", fmt.Sprintf("req_%06d", s.seq.Add(1)))

	idx, fault, limited, retryAfter := s.admit(r)
	if fault != nil && fault.Kind != KindPass {
		s.fault.Add(1)
		s.record(idx, s.applyFault(w, r, *fault))
		return
	}
	if limited {
		s.throttled.Add(1)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		s.record(idx, http.StatusTooManyRequests)
		writeError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "request rate limit exceeded")
		return
	}
	if b := s.cached(r); b != nil {
		s.served.Add(1)
		s.record(idx, http.StatusOK)
		writeBytes(w, http.StatusOK, b)
		return
	}
	status, body := s.respond(r)
	if status == http.StatusOK {
		s.served.Add(1)
		s.remember(r, body)
	}
	s.record(idx, status)
	writeJSON(w, status, body)
}

// CachePages makes the server keep every page it encodes and serve it
// again from memory, so that a benchmark measures the client, not the
// server's encoding. Auth is not checked again for a cached page.
func (s *Server) CachePages(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache = nil
	if on {
		s.cache = map[string][]byte{}
	}
}

func (s *Server) cached(r *http.Request) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache[r.URL.RequestURI()]
}

func (s *Server) remember(r *http.Request, body any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache != nil {
		b, _ := json.Marshal(body)
		s.cache[r.URL.RequestURI()] = b
	}
}

// record notes the status of the idx-th logged request; idx < 0 when the
// log is off.
func (s *Server) record(idx, status int) {
	if idx < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if idx < len(s.log) {
		s.log[idx].Status = status
	}
}

// admit records the request and decides whether a fault or the rate
// limit answers it.
func (s *Server) admit(r *http.Request) (idx int, fault *Fault, limited bool, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx = -1
	if s.keepLog {
		idx = len(s.log)
		s.log = append(s.log, Request{
			Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			Header: r.Header.Clone(), Time: time.Now(),
		})
	}
	if len(s.script) > 0 {
		f := s.script[0]
		s.script = s.script[1:]
		return idx, &f, false, ""
	}
	if s.chaos.Rate > 0 && len(s.chaos.Faults) > 0 && s.rng.Float64() < s.chaos.Rate {
		f := s.chaos.Faults[s.rng.IntN(len(s.chaos.Faults))]
		return idx, &f, false, ""
	}
	if s.limiter != nil && !s.limiter.Allow() {
		return idx, nil, true, s.retryAfter
	}
	return idx, nil, false, ""
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type pageBody struct {
	Sessions []Session `json:"sessions"`
	Metadata struct {
		PageKey    *string `json:"page_key"`
		TotalCount int     `json:"total_count"`
	} `json:"metadata"`
}

func errorFor(status int, code, msg string) (int, any) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	return status, b
}

// respond serves the endpoint: the status and the body to encode.
func (s *Server) respond(r *http.Request) (int, any) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.basePath+"/v2/agents/")
	agent, ok2 := strings.CutSuffix(rest, "/sessions")
	if !ok || !ok2 || strings.Contains(agent, "/") {
		return errorFor(http.StatusNotFound, "not_found", "no such endpoint")
	}
	if r.Method != http.MethodGet {
		return errorFor(http.StatusMethodNotAllowed, "method_not_allowed", "only GET is supported")
	}
	key, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	perms, known := s.keys[key]
	src, exists := s.agents[agent]
	s.mu.Unlock()
	if !hasBearer || !known {
		return errorFor(http.StatusUnauthorized, "unauthorized", "invalid or missing API key")
	}
	if !agentKeyPattern.MatchString(agent) {
		return errorFor(http.StatusBadRequest, "invalid_request", "agent_key must match ^agt_[0-9a-zA-Z_-]+$")
	}
	if !exists {
		return errorFor(http.StatusNotFound, "agent_not_found", fmt.Sprintf("no agent %q", agent))
	}
	if agent == RestrictedAgent && perms == nil || perms != nil && !perms[agent] {
		return errorFor(http.StatusForbidden, "forbidden", fmt.Sprintf("this key may not read the sessions of %q", agent))
	}

	q := r.URL.Query()
	limit := 10
	if v := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errorFor(http.StatusBadRequest, "invalid_request", "limit must be an integer from 1 to 100")
		}
		limit = n
	}
	var enabled *bool
	if q.Has("enabled") {
		b, err := strconv.ParseBool(q.Get("enabled"))
		if err != nil || (q.Get("enabled") != "true" && q.Get("enabled") != "false") {
			return errorFor(http.StatusBadRequest, "invalid_request", "enabled must be true or false")
		}
		enabled = &b
	}
	start := 0
	if q.Has("page_key") {
		i, ok := decodeCursor(q.Get("page_key"), src)
		if !ok {
			return errorFor(http.StatusBadRequest, "invalid_request", "page_key is not valid")
		}
		start = i + 1
	}

	var page pageBody
	page.Sessions = make([]Session, 0, limit)
	i := start
	for ; i < src.Len() && len(page.Sessions) < limit; i++ {
		if x := src.At(i); enabled == nil || x.Enabled == *enabled {
			if x.Metadata == nil {
				// The API sends an object, never null.
				x.Metadata = map[string]string{}
			}
			page.Sessions = append(page.Sessions, x)
		}
	}
	for ; i < src.Len(); i++ {
		if x := src.At(i); enabled == nil || x.Enabled == *enabled {
			c := EncodeCursor(page.Sessions[len(page.Sessions)-1].ID)
			page.Metadata.PageKey = &c
			break
		}
	}
	page.Metadata.TotalCount = src.Count(enabled)
	return http.StatusOK, page
}

// EncodeCursor makes the page key of the page that follows the session
// id, in the documentation's format: base64 of {"session_id": id}, naming
// the last session of the page it came with.
func EncodeCursor(id string) string {
	b, _ := json.Marshal(struct {
		SessionID string `json:"session_id"`
	}{id})
	return base64.StdEncoding.EncodeToString(b)
}

func decodeCursor(c string, src source) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	var v struct {
		SessionID string `json:"session_id"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	return src.Index(v.SessionID)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeBytes(w, status, b)
}

func writeBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	st, body := errorFor(status, code, msg)
	writeJSON(w, st, body)
}

var statusCodes = map[int]string{
	http.StatusBadRequest:          "invalid_request",
	http.StatusUnauthorized:        "unauthorized",
	http.StatusForbidden:           "forbidden",
	http.StatusNotFound:            "agent_not_found",
	http.StatusTooManyRequests:     "rate_limit_exceeded",
	http.StatusInternalServerError: "internal_error",
	http.StatusBadGateway:          "bad_gateway",
	http.StatusServiceUnavailable:  "service_unavailable",
	http.StatusGatewayTimeout:      "gateway_timeout",
}

// applyFault answers r as f says and returns the status it sent: 0 for a
// dropped, cut-off or unanswered request (those end by panicking with
// http.ErrAbortHandler, which closes the connection).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) int {
	switch f.Kind {
	case KindStatus:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		code := statusCodes[f.Status]
		if code == "" {
			code = "error"
		}
		writeError(w, f.Status, code, "injected "+http.StatusText(f.Status))
		return f.Status
	case KindRaw:
		for k, v := range f.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(f.Status)
		w.Write([]byte(f.Body))
		return f.Status
	case KindDrop:
		panic(http.ErrAbortHandler)
	case KindTruncate:
		status, b := s.encoded(r)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		w.Write(b[:len(b)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	case KindSlow:
		if !s.pause(r, f.Delay) {
			return 0
		}
		status, body := s.respond(r)
		writeJSON(w, status, body)
		return status
	case KindHang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		return 0
	case KindTrickle:
		status, b := s.encoded(r)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		rc := http.NewResponseController(w)
		for i := range b {
			if !s.pause(r, f.Delay) {
				return 0
			}
			w.Write(b[i : i+1])
			rc.Flush()
		}
		return status
	}
	return 0
}

// encoded is respond with the body already encoded as JSON.
func (s *Server) encoded(r *http.Request) (int, []byte) {
	status, body := s.respond(r)
	b, _ := json.Marshal(body)
	return status, b
}

// pause waits d unless the request or the server ends first.
func (s *Server) pause(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}
