package agents

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Version is the SDK's version, sent in the User-Agent header.
const Version = "0.1.0"

// Client talks to the Agents API. Create one with [NewClient] and share it:
// a *Client is safe for concurrent use by any number of goroutines, and the
// retry, pacing and rate-limit state it keeps is shared by all of them, so
// one Client per process and API key is the intended use. The zero value is
// not usable.
type Client struct {
	// auth returns the Authorization header value. It is a closure, not
	// a string: fmt prints the fields of a Client value by reflection,
	// without calling their methods, and even its bad-verb path
	// dereferences pointers; a func is printed as an address whatever
	// the verb, so no value the package hands out can reach the key.
	auth      func() string
	baseURL   string    // scheme://host[/path], no trailing slash
	base      baseParts // baseURL taken apart once; see requrl.go
	userAgent string

	// hc sends each attempt: the caller's client with the SDK's redirect
	// rule. Each call wraps it for go-retryablehttp; see transport.go.
	hc *http.Client
	// direct is set when hc is nothing but a transport and the redirect
	// rule, which send then skips to; see send.go.
	direct bool

	maxRetries     int
	backoffMin     time.Duration
	backoffMax     time.Duration
	maxRetryWait   time.Duration
	attemptTimeout time.Duration
	bounds         *attemptBounds // shares WithAttemptTimeout's bound between attempts; see attemptbound.go

	prefetch   bool
	walkBudget time.Duration // see WithWalkRetryBudget

	pacer *pacer
	// pace is the Pacer of WithPacer, in front of pacer; nil without it.
	pace  Pacer
	log   *slog.Logger
	hooks Hooks
	// waitScale multiplies the waits the server names; only the test
	// kit sets it (internal/kit).
	waitScale float64
}

// bearer builds the Authorization header value once and hides it in a
// closure; see Client.auth.
func bearer(key string) func() string {
	header := "Bearer " + key
	return func() string { return header }
}

// NewClient returns a Client configured by opts, with the API key and base
// URL taken from AGENTS_API_KEY and AGENTS_BASE_URL unless [WithAPIKey] and
// [WithBaseURL] say otherwise. It fails, saying what to set, when the key
// or base URL is missing, when the base URL is not an absolute http(s) URL,
// or when it is plain http:// to a host that is not loopback.
//
// Unless [WithHTTPClient] gives one, the Client has a transport of its own
// that keeps up to 100 idle connections to the API, enough for as many
// goroutines calling at once to reuse their connections.
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{
		maxRetries:     defaultMaxRetries,
		backoffMin:     defaultBackoffMin,
		backoffMax:     defaultBackoffMax,
		maxRetryWait:   defaultMaxRetryWait,
		attemptTimeout: defaultAttemptTimeout,
		walkBudget:     defaultWalkBudget,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}

	key := os.Getenv("AGENTS_API_KEY")
	if cfg.apiKey != nil {
		key = *cfg.apiKey
	}
	// A key read from a file or a secret store often ends in a newline;
	// white space around it is never part of a key, inside it is an error.
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, errors.New("agents: no API key: set AGENTS_API_KEY or use WithAPIKey")
	}
	if !headerSafe(key) || strings.ContainsAny(key, " \t") {
		// The key itself is never quoted, not even in this error.
		return nil, errors.New("agents: the API key contains white space or control characters")
	}
	rawURL := os.Getenv("AGENTS_BASE_URL")
	if cfg.baseURL != nil {
		rawURL = *cfg.baseURL
	}
	base, err := parseBaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	parts, err := splitBase(base)
	if err != nil {
		return nil, fmt.Errorf("agents: base URL: %w", err)
	}
	if !headerSafe(cfg.userAgent) {
		return nil, errors.New("agents: WithUserAgent: the user agent contains control characters")
	}
	if cfg.maxRetries < 0 {
		return nil, fmt.Errorf("agents: WithMaxRetries(%d): must be 0 or more", cfg.maxRetries)
	}
	if cfg.backoffMin <= 0 || cfg.backoffMax < cfg.backoffMin {
		return nil, fmt.Errorf("agents: WithRetryBackoff(%v, %v): need 0 < min <= max", cfg.backoffMin, cfg.backoffMax)
	}
	if cfg.maxRetryWait < 0 || cfg.attemptTimeout < 0 || cfg.walkBudget < 0 {
		return nil, errors.New("agents: WithMaxRetryWait, WithAttemptTimeout and WithWalkRetryBudget take durations of 0 or more")
	}
	if cfg.limitSet && (!(cfg.limit > 0) || cfg.burst < 1) { // NaN is not > 0
		return nil, fmt.Errorf("agents: WithRateLimit(%v, %d): need a positive rate and a burst of at least 1", cfg.limit, cfg.burst)
	}

	ua := "agents-go/" + Version
	if cfg.userAgent != "" {
		ua = cfg.userAgent + " " + ua
	}
	c := &Client{
		auth:           bearer(key),
		baseURL:        base,
		base:           parts,
		userAgent:      ua,
		maxRetries:     cfg.maxRetries,
		backoffMin:     cfg.backoffMin,
		backoffMax:     cfg.backoffMax,
		maxRetryWait:   cfg.maxRetryWait,
		attemptTimeout: cfg.attemptTimeout,
		bounds:         newAttemptBounds(cfg.attemptTimeout),
		log:            cfg.logger,
		prefetch:       cfg.prefetch,
		walkBudget:     cfg.walkBudget,
		hooks:          cfg.hooks,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.hc = withRedirectRule(cfg.httpClient)
	c.direct = direct(c.hc)

	adaptive := !cfg.limitSet
	if cfg.adaptive != nil {
		adaptive = *cfg.adaptive
	}
	var fixed *rate.Limiter
	if cfg.limitSet {
		fixed = rate.NewLimiter(cfg.limit, cfg.burst)
	}
	c.pacer = newPacer(cfg.maxRetryWait, fixed, adaptive)
	c.pacer.scale = cfg.waitScale
	c.pacer.onHold, c.pacer.onPacing = cfg.hooks.OnHold, cfg.hooks.OnPacing
	c.waitScale = cfg.waitScale
	if cfg.wrapPacer != nil {
		if c.pace = cfg.wrapPacer(builtin{c.pacer}); c.pace == nil {
			return nil, invalidf("WithPacer's function returned no Pacer")
		}
	}
	return c, nil
}

// String describes the Client without its key.
func (c *Client) String() string {
	if c == nil {
		return "agents.Client(nil)"
	}
	return fmt.Sprintf("agents.Client{baseURL: %q, apiKey: [redacted]}", c.baseURL)
}

// Format prints String for every verb, %#v and %d included, so that no
// verb reaches the fields.
func (c *Client) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

func parseBaseURL(raw string) (string, error) {
	const hint = "set AGENTS_BASE_URL or use WithBaseURL: the API's base URL for your deployment, without /v2, such as https://api.agents.example.com"
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("agents: no base URL: " + hint)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("agents: base URL does not parse (%s): %w", hint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("agents: base URL %q is not an absolute http(s) URL: %s", u.Redacted(), hint)
	}
	if u.User != nil {
		return "", fmt.Errorf("agents: base URL %q holds credentials; pass the key with WithAPIKey", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("agents: base URL %q has a query or fragment; give only scheme, host and path", u.Redacted())
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", fmt.Errorf("agents: base URL %q uses plain http to a host that is not loopback; use https so the API key is not sent in clear text", u.Redacted())
	}
	// The host through url.URL, which escapes an IPv6 zone's "%" as the
	// URL must have it to parse again.
	return (&url.URL{Scheme: u.Scheme, Host: u.Host}).String() + strings.TrimRight(u.EscapedPath(), "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// headerSafe reports whether s can go into a header value without
// splitting it.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}
