package main

// pageJSON is one page of one session, shaped as on the API's doc page
// (docs/list-agent-sessions.mdx). It is the last page (no page_key), so
// a client that follows cursors would stop; the lab only lists page one.
const pageJSON = `{
  "sessions": [
    {
      "id": "ase_customer_support_001",
      "agent_key": "agt_customer_support",
      "description": "Customer support session for billing inquiry",
      "metadata": {
        "customer_id": "customer_12345",
        "priority": "high",
        "channel": "web_chat",
        "issue_category": "billing"
      },
      "enabled": true,
      "created_at": "2024-01-15T10:30:00Z"
    }
  ],
  "metadata": {
    "page_key": "",
    "total_count": 1
  }
}
`

// agentKey is the seeded agent every call lists.
const agentKey = "agt_customer_support"

// sessionsPath is the endpoint the servers answer; anything else is 404.
const sessionsPath = "/v2/agents/" + agentKey + "/sessions"

// apiKey is a throwaway key: the servers do not check it, but the SDK
// requires one and every implementation sends it the same way.
const apiKey = "lab-key-not-secret"
