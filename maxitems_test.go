package agents_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// limits returns the limit query value of each request the server got,
// "" where none was sent.
func limits(srv *fakeapi.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, r.Query.Get("limit"))
	}
	return out
}

func salesIDs(from, to int) []string {
	var ids []string
	for i := from; i < to; i++ {
		ids = append(ids, fakeapi.GeneratedSession("agt_sales_assistant", i).ID)
	}
	return ids
}

// A walk with MaxItems asks the last page for only what it still needs
// and sends nothing after it, with and without prefetch.
func TestMaxItemsWalkRequests(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit, maxItems int
		wantLimits      []string
		wantSessions    int
	}{
		{limit: 0, maxItems: 150, wantLimits: []string{"100", "50"}, wantSessions: 150},
		{limit: 0, maxItems: 100, wantLimits: []string{"100"}, wantSessions: 100},
		{limit: 0, maxItems: 250, wantLimits: []string{"100", "100", "50"}, wantSessions: 250},
		{limit: 0, maxItems: 1000, wantLimits: []string{"100", "100", "100"}, wantSessions: 250},
		{limit: 30, maxItems: 70, wantLimits: []string{"30", "30", "10"}, wantSessions: 70},
		{limit: 0, maxItems: 1, wantLimits: []string{"1"}, wantSessions: 1},
		{limit: 0, maxItems: 0, wantLimits: []string{"100", "100", "100"}, wantSessions: 250},
	}
	for _, prefetch := range []bool{false, true} {
		for _, pages := range []bool{false, true} {
			for _, tt := range tests {
				name := fmt.Sprintf("prefetch=%v/pages=%v/limit=%d/max=%d", prefetch, pages, tt.limit, tt.maxItems)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					srv, c := setup(t, agents.WithPrefetch(prefetch))
					params := agents.ListSessionsParams{Limit: tt.limit, MaxItems: tt.maxItems}
					var ids []string
					if pages {
						for page, err := range c.SessionPages(context.Background(), "agt_sales_assistant", params) {
							if err != nil {
								t.Fatal(err)
							}
							for _, s := range page.Sessions {
								ids = append(ids, s.ID)
							}
						}
					} else {
						for s, err := range c.AllSessions(context.Background(), "agt_sales_assistant", params) {
							if err != nil {
								t.Fatal(err)
							}
							ids = append(ids, s.ID)
						}
					}
					if diff := cmp.Diff(salesIDs(0, tt.wantSessions), ids); diff != "" {
						t.Errorf("sessions (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(tt.wantLimits, limits(srv)); diff != "" {
						t.Errorf("limit of each request (-want +got):\n%s", diff)
					}
				})
			}
		}
	}
}

// A walk stopped by MaxItems resumes exactly from its last page's key:
// no session twice, none skipped; "" there means nothing is left.
func TestMaxItemsResumeIsExact(t *testing.T) {
	t.Parallel()
	for _, step := range []int{1, 7, 50, 100, 120, 250} {
		t.Run(fmt.Sprintf("step=%d", step), func(t *testing.T) {
			t.Parallel()
			_, c := setup(t)
			params := agents.ListSessionsParams{Limit: 40, MaxItems: step}
			var ids []string
			for walks := 1; ; walks++ {
				var last *agents.SessionPage
				for page, err := range c.SessionPages(context.Background(), "agt_sales_assistant", params) {
					if err != nil {
						t.Fatal(err)
					}
					for _, s := range page.Sessions {
						ids = append(ids, s.ID)
					}
					last = page
				}
				if last.Metadata.PageKey == "" {
					break
				}
				if walks > 250 {
					t.Fatal("the walks do not end")
				}
				params.PageKey = last.Metadata.PageKey
			}
			if diff := cmp.Diff(salesIDs(0, 250), ids); diff != "" {
				t.Errorf("sessions over all walks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaxItemsCapsListSessions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit, maxItems int
		wantLimit       string // "" = not sent
		wantSessions    int
	}{
		{limit: 0, maxItems: 5, wantLimit: "5", wantSessions: 5},
		{limit: 0, maxItems: 10, wantLimit: "", wantSessions: 10},
		{limit: 0, maxItems: 50, wantLimit: "", wantSessions: 10}, // the server's default is below the cap
		{limit: 20, maxItems: 7, wantLimit: "7", wantSessions: 7},
		{limit: 5, maxItems: 7, wantLimit: "5", wantSessions: 5},
		{limit: 100, maxItems: 0, wantLimit: "100", wantSessions: 100},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit=%d/max=%d", tt.limit, tt.maxItems), func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			page, err := c.ListSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: tt.limit, MaxItems: tt.maxItems})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(page.Sessions); got != tt.wantSessions {
				t.Errorf("%d sessions, want %d", got, tt.wantSessions)
			}
			if diff := cmp.Diff([]string{tt.wantLimit}, limits(srv)); diff != "" {
				t.Errorf("limit sent (-want +got):\n%s", diff)
			}
		})
	}
}

// A server that sends more than the limit asked still cannot make a call
// or a walk return more than MaxItems.
func TestMaxItemsHoldsAgainstAnOverfullPage(t *testing.T) {
	t.Parallel()
	const page = `{"sessions":[{"id":"ase_1"},{"id":"ase_2"},{"id":"ase_3"}],"metadata":{"page_key":"next","total_count":9}}`
	srv, c := setup(t)
	srv.Script(fakeapi.Raw(200, "application/json", page))
	n := 0
	for _, err := range c.AllSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{MaxItems: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || len(srv.Requests()) != 1 {
		t.Errorf("walk yielded %d sessions in %d requests, want 2 in 1", n, len(srv.Requests()))
	}
	srv.Script(fakeapi.Raw(200, "application/json", page))
	p, err := c.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{MaxItems: 2})
	if err != nil || len(p.Sessions) != 2 {
		t.Errorf("ListSessions: %v, %d sessions; want 2", err, len(p.Sessions))
	}
}
