// Package agentstest runs a fake Agents API in-process, for testing code
// built on package agents without a network, much as net/http/httptest
// does for HTTP handlers.
//
// The fake behaves like the documented API, not like a canned mock: it
// checks the Bearer key (401) and per-agent permissions (403), knows which
// agents exist (404), validates limit, enabled and page_key (400), pages
// with opaque cursors, counts total_count, and sends X-Request-Id. On top
// of that a test can script errors, rate limits and faults (dropped
// connections, cut-off bodies, slow or hung replies) and read back every
// request the server received.
//
// The Client that [Server.NewClient] hands out is made for tests of
// failure paths: it retries after a few milliseconds, cuts every wait the
// server names (Retry-After, the Client-wide hold after a 429) to a
// thousandth, and does not pace itself, so a scripted 429 with
// "Retry-After: 1" costs a millisecond, not a second, while the
// *agents.APIError still reports what the server sent. For a test of
// timing or pacing, [Server.NewRealTimeClient] waits in full, as a Client
// in production does.
//
// A new Server holds [DefaultKey], which may read every agent except
// [RestrictedAgent], and three agents: agt_customer_support with 127
// sessions, the first three those of the API documentation's example, agt_sales_assistant with 250
// generated sessions, and agt_empty with none.
package agentstest

import (
	"net/http"
	"net/url"
	"time"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	"github.com/agentsapi/agents-go/internal/kit"
)

// DefaultKey is the API key a new Server accepts.
const DefaultKey = "sk_test_fake_0123456789"

// RestrictedAgent exists on a new Server, but DefaultKey may not read it,
// so it answers 403 forbidden.
const RestrictedAgent = "agt_restricted"

// Session is a session as the server stores and serves it.
type Session struct {
	ID          string
	AgentKey    string
	Description string
	Metadata    map[string]string
	Enabled     bool
	CreatedAt   time.Time
}

// Request is a request the server received.
type Request struct {
	Method string
	Path   string // the URL path, base path included
	Query  url.Values
	Header http.Header // as received, Authorization included
	Time   time.Time   // when it arrived
	// Status is what the server answered: 0 for a request it dropped,
	// cut off or never answered, or is still answering.
	Status int
}

// Stats counts what the server answered.
type Stats struct {
	Requests  int64 // every request received
	Served    int64 // pages served normally
	Throttled int64 // 429s from SetRateLimit
	Faults    int64 // requests answered by a scripted or random fault
	Conns     int64 // connections accepted
}

// Server is a running fake API on a loopback address. Its methods are safe
// for concurrent use, including while clients are using it.
type Server struct {
	// URL is the base URL to give a client, with a non-root path, as a
	// gateway in front of the real API would have.
	URL string

	srv *fakeapi.Server
}

// An Option configures NewServer.
type Option func(*config)

type config struct{ fake []fakeapi.Option }

// WithBasePath serves the API under p ("/api" by default; "" for the root).
func WithBasePath(p string) Option {
	return func(c *config) { c.fake = append(c.fake, fakeapi.WithBasePath(p)) }
}

// WithoutSeed starts the server with no keys and no agents.
func WithoutSeed() Option {
	return func(c *config) { c.fake = append(c.fake, fakeapi.WithoutSeed()) }
}

// NewServer starts a Server. Close it when done, usually with
// t.Cleanup(srv.Close).
func NewServer(opts ...Option) *Server {
	var c config
	for _, o := range opts {
		o(&c)
	}
	srv := fakeapi.New(c.fake...)
	return &Server{URL: srv.URL, srv: srv}
}

// Close shuts the server down, ending any request it is holding.
func (s *Server) Close() { s.srv.Close() }

// NewClient returns an *agents.Client for the server, made for tests of
// failure paths, which should take milliseconds: DefaultKey, the server's
// URL, an HTTP client that reaches it, retry backoff of 1 to 5ms, every
// wait the server names (Retry-After, the Client-wide hold after a 429)
// cut to a thousandth, and adaptive pacing off, since a pacer slowing down
// after a scripted 429 is not what a unit test is about. What the Client
// decides and reports still goes by what the server sent: a Retry-After
// longer than WithMaxRetryWait fails at once, and the *APIError of a
// "Retry-After: 1" says RetryAfter 1s. opts are applied after these and
// may override them (agents.WithAdaptivePacing(true) turns pacing back
// on); for the server's waits in full, use [Server.NewRealTimeClient].
func (s *Server) NewClient(opts ...agents.Option) (*agents.Client, error) {
	fast := kit.WaitScale(waitScale).(agents.Option)
	return s.newClient(append([]agents.Option{fast, agents.WithAdaptivePacing(false)}, opts...))
}

// waitScale is what NewClient multiplies the server's waits by.
const waitScale = 1e-3

// NewRealTimeClient returns an *agents.Client for the server that waits
// as a Client from agents.NewClient does: every Retry-After and hold in
// full, and pacing adaptive, for a test of timing, of pacing, or of code
// that must cope with a real wait. Only the retry backoff used when the
// server names no wait stays at 1 to 5ms, as in [Server.NewClient]. opts
// are applied after these and may override them.
func (s *Server) NewRealTimeClient(opts ...agents.Option) (*agents.Client, error) {
	return s.newClient(opts)
}

func (s *Server) newClient(opts []agents.Option) (*agents.Client, error) {
	base := []agents.Option{
		agents.WithBaseURL(s.URL),
		agents.WithAPIKey(DefaultKey),
		agents.WithHTTPClient(s.srv.Client()),
		agents.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
	}
	return agents.NewClient(append(base, opts...)...)
}

// HTTPClient returns an *http.Client that reaches the server, for code
// that builds its own agents.Client (which then has the SDK's defaults,
// real-time waits included).
func (s *Server) HTTPClient() *http.Client { return s.srv.Client() }

// AddKey registers an API key that may read the given agents.
func (s *Server) AddKey(key string, agentKeys ...string) { s.srv.AddKey(key, agentKeys...) }

// AllowAll lets key read every agent except RestrictedAgent.
func (s *Server) AllowAll(key string) { s.srv.AllowAll(key) }

// AddAgent stores an agent whose sessions are served in the order given,
// replacing any agent of that key.
func (s *Server) AddAgent(agentKey string, sessions []Session) {
	ss := make([]fakeapi.Session, len(sessions))
	for i, x := range sessions {
		ss[i] = fakeapi.Session(x)
	}
	s.srv.AddAgent(agentKey, ss)
}

// AddGeneratedAgent stores an agent with n sessions made on the fly (see
// [GeneratedSession]), so that n may be in the millions at no memory cost.
func (s *Server) AddGeneratedAgent(agentKey string, n int) { s.srv.AddGeneratedAgent(agentKey, n) }

// GeneratedSession returns the i-th session (from 0) of an agent added
// with AddGeneratedAgent, so that a test can predict what it will read.
func GeneratedSession(agentKey string, i int) Session {
	return Session(fakeapi.GeneratedSession(agentKey, i))
}

// Script makes the next requests, one each and in order, meet faults;
// requests after them are served normally.
func (s *Server) Script(faults ...Fault) {
	ff := make([]fakeapi.Fault, len(faults))
	for i, f := range faults {
		ff[i] = f.f
	}
	s.srv.Script(ff...)
}

// SetChaos makes each request meet, with probability rate, one of faults
// chosen at random (seeded by seed); rate 0 turns it off.
func (s *Server) SetChaos(seed uint64, rate float64, faults ...Fault) {
	ff := make([]fakeapi.Fault, len(faults))
	for i, f := range faults {
		ff[i] = f.f
	}
	s.srv.SetChaos(fakeapi.Chaos{Seed: seed, Rate: rate, Faults: ff})
}

// SetRateLimit makes the server accept at most perSecond requests a second
// with bursts of burst, answering the rest 429 rate_limit_exceeded with
// the given Retry-After ("" sends none). perSecond <= 0 lifts the limit.
// The limit runs in real time, so a Client from NewClient, which waits
// only a thousandth of each Retry-After, retries into it and may give up
// with the 429; one from NewRealTimeClient waits and paces itself as it
// would against the real API.
func (s *Server) SetRateLimit(perSecond float64, burst int, retryAfter string) {
	s.srv.SetRateLimit(perSecond, burst, retryAfter)
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	in := s.srv.Requests()
	out := make([]Request, len(in))
	for i, r := range in {
		out[i] = Request(r)
	}
	return out
}

// KeepLog turns the request log on (the default) or off, for long runs.
func (s *Server) KeepLog(on bool) { s.srv.KeepLog(on) }

// Stats returns what the server has answered so far.
func (s *Server) Stats() Stats { return Stats(s.srv.Stats()) }

// Cursor returns the page key of the page that follows the session with
// the given id, as the server makes them: like the real API's, it names
// the last session of the page it came with.
func Cursor(sessionID string) string { return fakeapi.EncodeCursor(sessionID) }
