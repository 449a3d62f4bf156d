package agents

import (
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// An Option configures a [Client] in [NewClient].
type Option func(*config)

// config collects the options; NewClient validates it as a whole, so that
// the order of options never matters.
type config struct {
	apiKey, baseURL *string
	userAgent       string
	httpClient      *http.Client
	maxRetries      int
	backoffMin      time.Duration
	backoffMax      time.Duration
	maxRetryWait    time.Duration
	attemptTimeout  time.Duration
	limit           rate.Limit
	burst           int
	limitSet        bool
	wrapPacer       func(Pacer) Pacer
	adaptive        *bool
	logger          *slog.Logger
	prefetch        bool
	walkBudget      time.Duration
	hooks           Hooks
	waitScale       float64 // see internal/kit; 0 means 1
}

// Defaults, documented on the options that change them.
const (
	defaultMaxRetries     = 3
	defaultBackoffMin     = 250 * time.Millisecond
	defaultBackoffMax     = 10 * time.Second
	defaultMaxRetryWait   = time.Minute
	defaultAttemptTimeout = 30 * time.Second
	defaultWalkBudget     = 30 * time.Second
)

// WithAPIKey sets the API key sent as "Authorization: Bearer <key>". The
// default is the AGENTS_API_KEY environment variable. White space around
// the key, such as the newline that ends a key file, is trimmed; white
// space or control characters inside it are refused. The key never appears
// in an error, a log line or fmt output of anything the package returns.
func WithAPIKey(key string) Option {
	return func(c *config) { c.apiKey = &key }
}

// WithBaseURL sets the API's base URL for your deployment, without the
// /v2 the SDK adds itself: such as "https://api.agents.example.com", or
// "https://gateway.example.com/agents-api" behind a gateway; a path is
// kept and a trailing slash makes no difference. The default is the
// AGENTS_BASE_URL environment variable. There is no built-in default
// because each deployment has its own address, and guessing one would
// send the API key to a host you did not choose. Plain http:// is
// accepted only for loopback hosts.
func WithBaseURL(rawURL string) Option {
	return func(c *config) { c.baseURL = &rawURL }
}

// WithHTTPClient sets the HTTP client that sends each attempt, for a custom
// transport, proxy or instrumentation such as otelhttp. The default is a
// client with its own transport, a copy of http.DefaultTransport that
// keeps up to 100 idle connections to the API rather than net/http's 2
// per host, so that many goroutines sharing one Client reuse connections
// instead of opening one per call; a transport given here is used as it
// is, so give it a MaxIdleConnsPerHost of about the number of goroutines
// calling at once. The SDK keeps its own redirect rule
// on a copy of hc: the Authorization header is only ever sent to the base
// URL's scheme, host and port. When hc has a Timeout, an attempt it cuts
// off is retried like one cut off by [WithAttemptTimeout], and the error
// says which of the two it was.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithMaxRetries sets how many times a failed request is retried after the
// first attempt. 0 turns retries off; the default is 3.
func WithMaxRetries(n int) Option {
	return func(c *config) { c.maxRetries = n }
}

// WithRetryBackoff sets the bounds of the jittered exponential backoff used
// between attempts when the server gives no Retry-After. The defaults are
// 250ms and 10s: the n-th retry waits a random time between min·2ⁿ⁻¹ and
// min·2ⁿ, kept within [min, max], so that goroutines that failed together
// do not retry together.
func WithRetryBackoff(min, max time.Duration) Option {
	return func(c *config) { c.backoffMin, c.backoffMax = min, max }
}

// WithMaxRetryWait sets the longest single wait a call will sleep through:
// a Retry-After, a backoff, the Client-wide hold after a 429. A longer wait
// is not started; the call returns its last error at once, for a 429 an
// [*APIError] with RetryAfter set, so the caller can decide. The default is
// one minute.
func WithMaxRetryWait(d time.Duration) Option {
	return func(c *config) { c.maxRetryWait = d }
}

// WithAttemptTimeout bounds each attempt, from sending the request to
// reading the last byte of the response, so that a server that accepts the
// connection and never answers, or trickles its reply, cannot hold a call.
// A timed-out attempt is retried like a dropped connection. The default is
// 30 seconds; 0 leaves attempts bounded by the context alone.
//
// An attempt is cut off no sooner than d after it starts, and no later
// than d plus a 32nd of d: attempts that start close together share one
// bound, so that it costs next to nothing for calls under
// context.Background, and little for many goroutines' calls under one
// root context (a context, a timer and their wiring per attempt cost
// about 5% of a call to a loopback server; see BENCHMARKS.md). It is not
// armed when the call's context has a deadline that comes first.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) { c.attemptTimeout = d }
}

// WithRateLimit paces every attempt, retries included, of every call on
// the Client to at most r per second with bursts of burst, across all
// goroutines. A wait that would end after the context's deadline fails at
// once. Setting a known limit turns adaptive pacing off unless
// [WithAdaptivePacing] turns it back on.
func WithRateLimit(r rate.Limit, burst int) Option {
	return func(c *config) { c.limit, c.burst, c.limitSet = r, burst, true }
}

// WithAdaptivePacing turns adaptive pacing on or off. It is on by default
// when no [WithRateLimit] is given: the Client sends as fast as its callers
// ask until the server announces a limit in rate-limit headers or answers
// 429, then paces by the headers, or learns the rate (or the number of
// requests in flight) the server accepts and stays just under it,
// probing upwards now and then. The Client-wide hold after a 429 with
// Retry-After applies either way; see the package documentation.
func WithAdaptivePacing(on bool) Option {
	return func(c *config) { c.adaptive = &on }
}

// WithLogger sets where the Client logs. It logs nothing else: one debug
// line per retry (attempt, status, wait, request id), one warning when
// it gives up, and one info line each time a walk resumes after a failed
// page. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithUserAgent sets a product token sent ahead of the SDK's own, as in
// "my-dashboard/1.2 agents-go/0.1.0". Control characters are rejected.
func WithUserAgent(ua string) Option {
	return func(c *config) { c.userAgent = ua }
}

// WithPrefetch makes [Client.SessionPages] and [Client.AllSessions] fetch
// the next page while the caller works on the current one, so that a slow
// consumer and a slow server overlap. At most one page is fetched ahead;
// when the caller stops early, that one request is cancelled. Off by
// default.
func WithPrefetch(on bool) Option {
	return func(c *config) { c.prefetch = on }
}

// WithWalkRetryBudget sets how long [Client.SessionPages] and
// [Client.AllSessions] keep retrying a page after its call has failed
// transiently (a 429 or 5xx it gave up on, a refused or dropped
// connection, a timed-out attempt), counted from the first of a run of
// consecutive failures. A walk knows exactly where it stands, so it can
// ride out an outage longer than one call's retries cover, without
// reading or yielding anything twice. Each wait between tries is a
// jittered backoff within the [WithRetryBackoff] bounds, or the
// server's Retry-After; like every wait it is bounded by
// [WithMaxRetryWait] and never ends past the context's deadline. Once
// the budget is spent the walk ends with its [*PageError] as it would
// have at the first failure. The default is 30 seconds; 0 turns it off.
func WithWalkRetryBudget(d time.Duration) Option {
	return func(c *config) { c.walkBudget = d }
}
