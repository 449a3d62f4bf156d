package fakeapi

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Session is a session as the fake server stores and serves it.
type Session struct {
	ID          string            `json:"id"`
	AgentKey    string            `json:"agent_key"`
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
	Enabled     bool              `json:"enabled"`
	CreatedAt   time.Time         `json:"created_at"`
}

// source is an agent's ordered list of sessions.
type source interface {
	Len() int
	At(i int) Session
	// Index finds a session by id, for decoding a cursor.
	Index(id string) (int, bool)
	// Count is how many sessions match the filter (nil: all).
	Count(enabled *bool) int
}

type sliceSource struct {
	sessions []Session
	index    map[string]int
}

func newSliceSource(sessions []Session) *sliceSource {
	s := &sliceSource{sessions: sessions, index: make(map[string]int, len(sessions))}
	for i, x := range sessions {
		s.index[x.ID] = i
	}
	return s
}

func (s *sliceSource) Len() int         { return len(s.sessions) }
func (s *sliceSource) At(i int) Session { return s.sessions[i] }
func (s *sliceSource) Index(id string) (int, bool) {
	i, ok := s.index[id]
	return i, ok
}
func (s *sliceSource) Count(enabled *bool) int {
	if enabled == nil {
		return len(s.sessions)
	}
	n := 0
	for _, x := range s.sessions {
		if x.Enabled == *enabled {
			n++
		}
	}
	return n
}

// genSource makes sessions on the fly, so that an agent with a million
// sessions costs the server no memory.
type genSource struct {
	agent  string
	prefix string
	n      int
}

// GeneratedSession returns the i-th session (from 0) that an agent added
// with AddGeneratedAgent serves, so that tests can predict every field.
func GeneratedSession(agentKey string, i int) Session {
	return genSource{agent: agentKey, prefix: genPrefix(agentKey)}.At(i)
}

func genPrefix(agentKey string) string {
	return "ase_" + strings.TrimPrefix(agentKey, "agt_") + "_"
}

var genEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

var priorities = [...]string{"low", "normal", "high"}

func (g genSource) Len() int { return g.n }

func (g genSource) At(i int) Session {
	return Session{
		ID:          fmt.Sprintf("%s%07d", g.prefix, i),
		AgentKey:    g.agent,
		Description: "Generated session " + strconv.Itoa(i),
		Metadata:    map[string]string{"index": strconv.Itoa(i), "priority": priorities[i%3]},
		Enabled:     i%3 != 0,
		CreatedAt:   genEpoch.Add(time.Duration(i) * time.Minute),
	}
}

func (g genSource) Index(id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, g.prefix)
	if !ok || len(rest) != 7 {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 0 || i >= g.n {
		return 0, false
	}
	return i, true
}

func (g genSource) Count(enabled *bool) int {
	disabled := (g.n + 2) / 3 // i%3 == 0
	switch {
	case enabled == nil:
		return g.n
	case *enabled:
		return g.n - disabled
	default:
		return disabled
	}
}

// DocsTotal is how many sessions agt_customer_support holds: the
// documentation's example page reports total_count 127.
const DocsTotal = 127

// DocsSessions are the sessions the fake serves for agt_customer_support:
// the three of the API documentation's example, exactly as printed there,
// then made-up ones up to [DocsTotal], so that a first page of limit=3
// reproduces the documented response byte for byte, page_key included.
func DocsSessions() []Session {
	docs := []Session{
		{
			ID: "ase_customer_support_001", AgentKey: "agt_customer_support",
			Description: "Customer support session for billing inquiry",
			Metadata: map[string]string{
				"customer_id": "customer_12345", "priority": "high",
				"channel": "web_chat", "issue_category": "billing",
			},
			Enabled: true, CreatedAt: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
		},
		{
			ID: "ase_customer_support_002", AgentKey: "agt_customer_support",
			Description: "Technical support session for software configuration",
			Metadata: map[string]string{
				"customer_id": "customer_67890", "priority": "medium",
				"channel": "email", "issue_category": "technical",
			},
			Enabled: true, CreatedAt: time.Date(2024, 1, 15, 11, 45, 0, 0, time.UTC),
		},
		{
			ID: "ase_customer_support_003", AgentKey: "agt_customer_support",
			Description: "Product inquiry session for enterprise features",
			Metadata: map[string]string{
				"customer_id": "customer_54321", "priority": "low",
				"channel": "phone", "issue_category": "product_inquiry",
			},
			Enabled: false, CreatedAt: time.Date(2024, 1, 15, 9, 15, 0, 0, time.UTC),
		},
	}
	channels := [...]string{"web_chat", "email", "phone"}
	categories := [...]string{"billing", "technical", "product_inquiry", "account"}
	levels := [...]string{"high", "medium", "low"}
	start := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)
	for i := len(docs) + 1; i <= DocsTotal; i++ {
		docs = append(docs, Session{
			ID:          fmt.Sprintf("ase_customer_support_%03d", i),
			AgentKey:    "agt_customer_support",
			Description: fmt.Sprintf("Customer support session %d", i),
			Metadata: map[string]string{
				"customer_id":    fmt.Sprintf("customer_%05d", 10000+i*7),
				"priority":       levels[i%3],
				"channel":        channels[i%len(channels)],
				"issue_category": categories[i%len(categories)],
			},
			Enabled:   i%5 != 0,
			CreatedAt: start.Add(time.Duration(i) * 17 * time.Minute),
		})
	}
	return docs
}
