package agents_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
)

// TestMain fails the package if any test leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const bigAgent = "agt_big"
const bigN = 2345

func wantSessions(agent string, n int, enabled *bool) []string {
	var ids []string
	for i := range n {
		s := fakeapi.GeneratedSession(agent, i)
		if enabled == nil || s.Enabled == *enabled {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func TestAllSessionsEveryOnceInOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		limit    int
		enabled  *bool
		prefetch bool
	}{
		{name: "default limit asks for 100"},
		{name: "limit 1", limit: 1},
		{name: "limit 7", limit: 7},
		{name: "limit 100", limit: 100},
		{name: "enabled only", limit: 50, enabled: ptr(true)},
		{name: "disabled only", enabled: ptr(false)},
		{name: "prefetch", prefetch: true},
		{name: "prefetch limit 7 enabled", limit: 7, enabled: ptr(true), prefetch: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithPrefetch(tt.prefetch))
			srv.AddGeneratedAgent(bigAgent, bigN)
			params := agents.ListSessionsParams{Limit: tt.limit, Enabled: tt.enabled}
			before := params
			var got []string
			for s, err := range c.AllSessions(context.Background(), bigAgent, params) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s.ID)
			}
			want := wantSessions(bigAgent, bigN, tt.enabled)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("sessions mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, params); diff != "" {
				t.Errorf("params were modified (-before +after):\n%s", diff)
			}
			perPage := tt.limit
			if perPage == 0 {
				perPage = 100
			}
			reqs := srv.Requests()
			if wantPages := (len(want) + perPage - 1) / perPage; len(reqs) != wantPages {
				t.Errorf("%d requests, want one per page: %d", len(reqs), wantPages)
			}
			if got := reqs[0].Query.Get("limit"); got != fmt.Sprint(perPage) {
				t.Errorf("limit sent = %q, want %d", got, perPage)
			}
		})
	}
}

func TestSessionPagesYieldsPages(t *testing.T) {
	t.Parallel()
	_, c := setup(t)
	var sizes []int
	var total int
	for page, err := range c.SessionPages(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 60}) {
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Sessions))
		total = page.Metadata.TotalCount
	}
	if diff := cmp.Diff([]int{60, 60, 60, 60, 10}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if total != 250 {
		t.Errorf("TotalCount = %d, want 250", total)
	}
}

func TestWalkBreakSendsNoMore(t *testing.T) {
	t.Parallel()
	for _, prefetch := range []bool{false, true} {
		for _, stopAfter := range []int{1, 10, 11, 25, 99} {
			t.Run(fmt.Sprintf("prefetch=%v/after=%d", prefetch, stopAfter), func(t *testing.T) {
				t.Parallel()
				srv, c := setup(t, agents.WithPrefetch(prefetch))
				n := 0
				for _, err := range c.AllSessions(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 10}) {
					if err != nil {
						t.Fatal(err)
					}
					if n++; n == stopAfter {
						break
					}
				}
				pagesNeeded := (stopAfter + 9) / 10
				got := len(srv.Requests())
				// Prefetch may have had the next page in flight, no more.
				if got < pagesNeeded || got > pagesNeeded+b2i(prefetch) {
					t.Errorf("%d requests after breaking at session %d, want %d (+1 with prefetch)", got, stopAfter, pagesNeeded)
				}
			})
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestWalkCancel(t *testing.T) {
	t.Parallel()
	for _, prefetch := range []bool{false, true} {
		for _, cancelAt := range []int{1, 10, 15, 30} {
			t.Run(fmt.Sprintf("prefetch=%v/at=%d", prefetch, cancelAt), func(t *testing.T) {
				t.Parallel()
				srv, c := setup(t, agents.WithPrefetch(prefetch))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				n, errs := 0, 0
				var last error
				for _, err := range c.AllSessions(ctx, "agt_sales_assistant", agents.ListSessionsParams{Limit: 10}) {
					if err != nil {
						errs++
						last = err
						continue
					}
					if n++; n == cancelAt {
						cancel()
					}
				}
				if errs != 1 || !errors.Is(last, context.Canceled) {
					t.Fatalf("got %d errors, last %v; want exactly one context.Canceled", errs, last)
				}
				// Sessions already on the page in hand are still yielded.
				if want := (cancelAt + 9) / 10 * 10; n != want {
					t.Errorf("yielded %d sessions, want %d (the rest of the page in hand)", n, want)
				}
				if got, max := len(srv.Requests()), (cancelAt+9)/10+1; got > max {
					t.Errorf("%d requests, want at most %d", got, max)
				}
			})
		}
	}
}

func TestWalkErrorOnMiddlePageAndResume(t *testing.T) {
	t.Parallel()
	for _, prefetch := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefetch=%v", prefetch), func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t, agents.WithPrefetch(prefetch), agents.WithMaxRetries(0), agents.WithWalkRetryBudget(0))
			srv.Script(fakeapi.Pass(), fakeapi.Pass(), fakeapi.Status(503, ""))
			params := agents.ListSessionsParams{Limit: 20}
			var got []string
			var errs []error
			for s, err := range c.AllSessions(context.Background(), "agt_sales_assistant", params) {
				if err != nil {
					if s.ID != "" {
						t.Errorf("error came with a non-zero session %+v", s)
					}
					errs = append(errs, err)
					continue
				}
				got = append(got, s.ID)
			}
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			var pe *agents.PageError
			var apiErr *agents.APIError
			if !errors.As(errs[0], &pe) || !errors.As(errs[0], &apiErr) || apiErr.StatusCode != 503 {
				t.Fatalf("err = %v; want a *PageError around the 503 *APIError", errs[0])
			}
			if len(got) != 40 || pe.Pages != 2 || pe.PageKey == "" {
				t.Fatalf("before the error: %d sessions, PageError %+v; want 40 sessions and the third page's key", len(got), pe)
			}
			resumeAt := len(srv.Requests())
			params.PageKey = pe.PageKey
			for s, err := range c.AllSessions(context.Background(), "agt_sales_assistant", params) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, s.ID)
			}
			if diff := cmp.Diff(wantSessions("agt_sales_assistant", 250, nil), got); diff != "" {
				t.Errorf("sessions after resuming (-want +got):\n%s", diff)
			}
			for _, r := range srv.Requests()[resumeAt:] {
				if r.Query.Get("page_key") == "" {
					t.Errorf("the resumed walk re-read the first page")
				}
			}
		})
	}
}

// scriptedPages makes the server answer the next requests with pages
// whose sessions and next keys are given.
func scriptedPages(srv *fakeapi.Server, pages ...[2]string) {
	for _, p := range pages {
		var ids []string
		for _, id := range strings.Fields(p[0]) {
			ids = append(ids, fmt.Sprintf(`{"id":%q,"agent_key":"agt_x","enabled":true,"created_at":"2024-01-15T10:30:00Z"}`, id))
		}
		key := "null"
		if p[1] != "" {
			key = fmt.Sprintf("%q", p[1])
		}
		srv.Script(fakeapi.Raw(200, "application/json",
			fmt.Sprintf(`{"sessions":[%s],"metadata":{"page_key":%s,"total_count":9}}`, strings.Join(ids, ","), key)))
	}
}

func TestWalkOddCursors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		start   string
		pages   [][2]string
		want    []string
		wantErr bool
		errKey  string
		// resume is what the server answers to a walk resumed from
		// errKey, following the same cursors: it must yield only
		// sessions the first walk did not.
		resume [][2]string
	}{
		{name: "empty pages with a next key are not the end",
			pages: [][2]string{{"", "K1"}, {"", "K2"}, {"a b", "K3"}, {"", "K4"}, {"c", ""}},
			want:  []string{"a", "b", "c"}},
		{name: "same key again", pages: [][2]string{{"a", "K1"}, {"b", "K1"}},
			want: []string{"a"}, wantErr: true, errKey: "K1",
			resume: [][2]string{{"b", "K1"}}},
		{name: "two-page cycle", pages: [][2]string{{"a", "K1"}, {"b", "K2"}, {"c", "K1"}},
			want: []string{"a", "b"}, wantErr: true, errKey: "K2",
			resume: [][2]string{{"c", "K1"}, {"b", "K2"}}},
		{name: "back to the start key", start: "K0", pages: [][2]string{{"a", "K1"}, {"b", "K0"}},
			want: []string{"a"}, wantErr: true, errKey: "K1",
			resume: [][2]string{{"b", "K0"}, {"a", "K1"}}},
	}
	walk := func(c *agents.Client, start string) (got []string, errs []error) {
		for s, err := range c.AllSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{PageKey: start}) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, s.ID)
		}
		return got, errs
	}
	for _, tt := range tests {
		for _, prefetch := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/prefetch=%v", tt.name, prefetch), func(t *testing.T) {
				t.Parallel()
				srv, c := setup(t, agents.WithPrefetch(prefetch))
				scriptedPages(srv, tt.pages...)
				got, errs := walk(c, tt.start)
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("sessions (-want +got):\n%s", diff)
				}
				if !tt.wantErr {
					if len(errs) != 0 {
						t.Errorf("errors: %v", errs)
					}
					return
				}
				var pe *agents.PageError
				if len(errs) != 1 || !errors.Is(errs[0], agents.ErrPageKeyRepeated) || !errors.As(errs[0], &pe) || pe.PageKey != tt.errKey {
					t.Fatalf("errors = %v, want one ErrPageKeyRepeated resuming at %q", errs, tt.errKey)
				}
				if n := len(srv.Requests()); n != len(tt.pages) {
					t.Errorf("%d requests, want %d: the repeated key must not be fetched", n, len(tt.pages))
				}
				scriptedPages(srv, tt.resume...)
				again, _ := walk(c, pe.PageKey)
				for _, id := range again {
					if slices.Contains(got, id) {
						t.Errorf("the walk resumed from PageKey %q yielded %q again (first walk %v, resumed %v)", pe.PageKey, id, got, again)
					}
				}
			})
		}
	}
}

func TestWalkInvalidInput(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	var errs []error
	for _, err := range c.AllSessions(context.Background(), "nope", agents.ListSessionsParams{}) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], agents.ErrInvalidRequest) {
		t.Errorf("errors = %v, want one ErrInvalidRequest", errs)
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("invalid input sent a request")
	}
}

// TestWalkLeavesNoGoroutine is not parallel: it counts goroutines.
func TestWalkLeavesNoGoroutine(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	func() {
		srv := fakeapi.New()
		defer srv.Close()
		srv.Script(fakeapi.Pass(), fakeapi.Slow(50e6))
		c := newClient(t, srv, agents.WithPrefetch(true))
		for range c.SessionPages(context.Background(), "agt_sales_assistant", agents.ListSessionsParams{Limit: 10}) {
			break // with page 2 in flight, and slow
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for range c.AllSessions(ctx, "agt_sales_assistant", agents.ListSessionsParams{Limit: 10}) {
			cancel()
		}
		srv.Client().CloseIdleConnections()
	}()
	goleak.VerifyNone(t, ignore)
}
