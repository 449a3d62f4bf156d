package fakeapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// get fetches path (with query) from srv with the default key and returns
// the status and the raw body.
func get(t *testing.T, srv *Server, pathAndQuery string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+pathAndQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+DefaultKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestDocsExamplePage checks the seeded agent against the example response
// copied verbatim from the API's documentation page
// (docs/list-agent-sessions.mdx).
func TestDocsExamplePage(t *testing.T) {
	t.Parallel()
	srv := New()
	t.Cleanup(srv.Close)
	docs, err := os.ReadFile("testdata/docs-example-response.json")
	if err != nil {
		t.Fatal(err)
	}
	status, body := get(t, srv, "/v2/agents/agt_customer_support/sessions?limit=3")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var want, got any
	if err := json.Unmarshal(docs, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first page of limit=3 differs from the docs' example (-want +got):\n%s", diff)
	}
	// The page key byte for byte, as the docs print it.
	const key = `"page_key":"eyJzZXNzaW9uX2lkIjoiYXNlX2N1c3RvbWVyX3N1cHBvcnRfMDAzIn0="`
	if !bytes.Contains(body, []byte(key)) {
		t.Errorf("body lacks %s:\n%s", key, body)
	}
}

// TestDocsAgentWalk reads agt_customer_support to its end and checks that
// total_count holds on every page and every session comes once.
func TestDocsAgentWalk(t *testing.T) {
	t.Parallel()
	srv := New()
	t.Cleanup(srv.Close)
	seen := map[string]bool{}
	key := ""
	for pages := 0; ; pages++ {
		if pages > DocsTotal {
			t.Fatal("walk does not end")
		}
		q := "?limit=7"
		if key != "" {
			q += "&page_key=" + key
		}
		status, body := get(t, srv, "/v2/agents/agt_customer_support/sessions"+q)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		var p struct {
			Sessions []struct {
				ID       string          `json:"id"`
				Metadata json.RawMessage `json:"metadata"`
			} `json:"sessions"`
			Metadata struct {
				PageKey    string `json:"page_key"`
				TotalCount int    `json:"total_count"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Metadata.TotalCount != DocsTotal {
			t.Errorf("total_count = %d, want %d", p.Metadata.TotalCount, DocsTotal)
		}
		for _, s := range p.Sessions {
			if seen[s.ID] {
				t.Errorf("%s served twice", s.ID)
			}
			seen[s.ID] = true
		}
		if key = p.Metadata.PageKey; key == "" {
			break
		}
		if want := EncodeCursor(p.Sessions[len(p.Sessions)-1].ID); key != want {
			t.Errorf("page_key = %s, want the cursor of the last session returned, %s", key, want)
		}
	}
	if len(seen) != DocsTotal {
		t.Errorf("%d sessions, want %d", len(seen), DocsTotal)
	}
}

// TestNilMetadataIsAnObject: the API sends "metadata": {} for a session
// without metadata, never null.
func TestNilMetadataIsAnObject(t *testing.T) {
	t.Parallel()
	srv := New()
	t.Cleanup(srv.Close)
	srv.AddAgent("agt_bare", []Session{{ID: "ase_bare_1", AgentKey: "agt_bare"}})
	status, body := get(t, srv, "/v2/agents/agt_bare/sessions")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	if !bytes.Contains(body, []byte(`"metadata":{}`)) || bytes.Contains(body, []byte(`"metadata":null`)) {
		t.Errorf("want \"metadata\":{}, not null:\n%s", body)
	}
}
