package agents

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Session is one session of an agent.
type Session struct {
	ID          string `json:"id"`
	AgentKey    string `json:"agent_key"`
	Description string `json:"description"`
	// Metadata holds the session's metadata. A value the server sent as
	// something other than a JSON string is kept as its compact JSON text
	// (3 as "3", ["a"] as `["a"]`); null becomes "".
	Metadata  map[string]string `json:"metadata"`
	Enabled   bool              `json:"enabled"`
	CreatedAt time.Time         `json:"created_at"`
}

// ListSessionsParams selects a page of sessions. The zero value asks for
// the first page at the server's default size, unfiltered.
type ListSessionsParams struct {
	Limit   int    // 0 = server default (10); otherwise 1..100
	PageKey string // "" = first page; otherwise a PageMetadata.PageKey
	Enabled *bool  // nil = no filter
	// MaxItems caps how many sessions are fetched; 0 = no cap. A walk
	// stops after MaxItems sessions and asks its last page for no more
	// than it still needs; ListSessions asks for at most MaxItems. See
	// [Client.SessionPages] for resuming a walk it stopped.
	MaxItems int
}

// PageMetadata describes where a page stands in the whole list.
type PageMetadata struct {
	// PageKey is the opaque cursor of the next page; "" on the last page.
	PageKey string `json:"page_key"`
	// TotalCount is how many sessions match, over all pages.
	TotalCount int `json:"total_count"`
}

// SessionPage is one page of sessions, in server order.
type SessionPage struct {
	Sessions []Session    `json:"sessions"`
	Metadata PageMetadata `json:"metadata"`
	// Response says how the page was fetched. It is not part of the
	// API's JSON, and not encoded with the page.
	Response ResponseInfo `json:"-"`
}

// maxLimit is the API's largest page size.
const maxLimit = 100

// ListSessions fetches one page of the sessions of the agent agentKey.
// With MaxItems set it asks for at most MaxItems sessions (MaxItems itself
// when Limit is 0 and MaxItems is below the server's default of 10) and
// returns no more than that.
//
// Invalid input (an agentKey that does not match ^agt_[0-9a-zA-Z_-]+$, a
// Limit outside 0..100, a negative MaxItems, a bad [CallOption]) fails
// before anything is sent, with an error that matches [ErrInvalidRequest].
// A response the client gives up on is an [*APIError]; see the package
// documentation for what is retried.
func (c *Client) ListSessions(ctx context.Context, agentKey string, params ListSessionsParams, opts ...CallOption) (*SessionPage, error) {
	if err := validate(agentKey, params); err != nil {
		return nil, err
	}
	o, err := c.callOptions(opts)
	if err != nil {
		return nil, err
	}
	params.Limit = capLimit(params.Limit, params.MaxItems)
	page, err := c.fetch(ctx, agentKey, c.pageURL(agentKey, params), o)
	if err != nil {
		return nil, err
	}
	keep(page, params.MaxItems)
	return page, nil
}

func validate(agentKey string, params ListSessionsParams) error {
	if !validAgentKey(agentKey) {
		return invalidf("agent key %.80q does not match ^agt_[0-9a-zA-Z_-]+$", agentKey)
	}
	if params.Limit < 0 || params.Limit > maxLimit {
		return invalidf("limit %d is outside 0..%d", params.Limit, maxLimit)
	}
	if params.MaxItems < 0 {
		return invalidf("MaxItems %d is negative; 0 means no cap", params.MaxItems)
	}
	return nil
}

func validAgentKey(k string) bool {
	rest, ok := strings.CutPrefix(k, "agt_")
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		switch b := rest[i]; {
		case b >= '0' && b <= '9', b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// pageURL builds the request URL, sending only the params that are set.
// The agent key is validated, so it needs no escaping.
func (c *Client) pageURL(agentKey string, p ListSessionsParams) string {
	var b strings.Builder
	b.Grow(len(c.baseURL) + len(agentKey) + len(p.PageKey) + 64)
	b.WriteString(c.baseURL)
	b.WriteString("/v2/agents/")
	b.WriteString(agentKey)
	b.WriteString("/sessions")
	sep := byte('?')
	if p.Limit > 0 {
		b.WriteByte(sep)
		b.WriteString("limit=")
		b.WriteString(strconv.Itoa(p.Limit))
		sep = '&'
	}
	if p.PageKey != "" {
		b.WriteByte(sep)
		b.WriteString("page_key=")
		b.WriteString(url.QueryEscape(p.PageKey))
		sep = '&'
	}
	if p.Enabled != nil {
		b.WriteByte(sep)
		b.WriteString("enabled=")
		b.WriteString(strconv.FormatBool(*p.Enabled))
	}
	return b.String()
}
