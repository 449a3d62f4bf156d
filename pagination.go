package agents

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"
	"sync"
)

// ErrPageKeyRepeated ends a walk whose server handed back a page key that
// the walk had already followed: going on would loop forever, or yield the
// same sessions again. It arrives wrapped in a [*PageError].
var ErrPageKeyRepeated = errors.New("agents: the server repeated a page key already followed in this walk")

// PageError is the error a walk ([Client.SessionPages], [Client.AllSessions])
// ends with. Err is what went wrong, reachable with [errors.Is] and
// [errors.As] ([*APIError], a context error, [ErrPageKeyRepeated]);
// PageKey is where to resume: pass it as ListSessionsParams.PageKey to a
// new walk to continue without reading the earlier pages again. Every
// session yielded before the error came from pages before PageKey.
type PageError struct {
	// PageKey is the key of the page that could not be fetched; "" for
	// the first page of a walk that started at the beginning.
	PageKey string
	// Pages is how many pages the walk had yielded.
	Pages int
	Err   error
}

// Error names the page key, not how to use it: the message may reach the
// user of a program, for whom Go field names mean nothing, and resuming
// is no cure for every error (a 404 or 401 stays one).
func (e *PageError) Error() string {
	if e.PageKey == "" {
		return fmt.Sprintf("%v; the walk stopped at its first page", e.Err)
	}
	return fmt.Sprintf("%v; the walk stopped after %d pages, at page key %.120q", e.Err, e.Pages, e.PageKey)
}

func (e *PageError) Unwrap() error { return e.Err }

// SessionPages walks every page of the sessions of agentKey, starting at
// params.PageKey and following each page's Metadata.PageKey until a page
// has none. A Limit of 0 asks for 100 sessions a page, the maximum; params
// is not modified. A page may hold no sessions and still not be the last.
//
// On a failure the iterator yields one (nil, err) and stops. Invalid input
// fails before any request, as with [Client.ListSessions]; any other err
// is a [*PageError] that says where to resume. Breaking out of the loop sends
// no further request and leaves no goroutine behind. With [WithPrefetch]
// the next page is fetched while the loop body runs.
func (c *Client) SessionPages(ctx context.Context, agentKey string, params ListSessionsParams) iter.Seq2[*SessionPage, error] {
	return func(yield func(*SessionPage, error) bool) {
		if err := validate(agentKey, params); err != nil {
			yield(nil, err)
			return
		}
		if params.Limit == 0 {
			params.Limit = maxLimit
		}
		w := &walk{c: c, agentKey: agentKey, params: params, seen: newKeySet()}
		w.seen.add(params.PageKey)
		if c.prefetch {
			w.prefetched(ctx, yield)
		} else {
			w.sequential(ctx, yield)
		}
	}
}

// AllSessions walks every session of agentKey, once each, in server order,
// fetching pages as [Client.SessionPages] does, with the same errors. On a
// failure it yields one (Session{}, err) and stops.
func (c *Client) AllSessions(ctx context.Context, agentKey string, params ListSessionsParams) iter.Seq2[Session, error] {
	return func(yield func(Session, error) bool) {
		for page, err := range c.SessionPages(ctx, agentKey, params) {
			if err != nil {
				yield(Session{}, err)
				return
			}
			for _, s := range page.Sessions {
				if !yield(s, nil) {
					return
				}
			}
		}
	}
}

type walk struct {
	c        *Client
	agentKey string
	params   ListSessionsParams
	seen     keySet
	pages    int
}

func (w *walk) fetch(ctx context.Context, key string) (*SessionPage, error) {
	p := w.params
	p.PageKey = key
	return w.c.fetch(ctx, w.c.pageURL(w.agentKey, p))
}

// next checks the key a page points to: "" ends the walk, a repeat is an
// error, anything else is recorded.
func (w *walk) next(page *SessionPage) (key string, err error) {
	key = page.Metadata.PageKey
	if key == "" {
		return "", nil
	}
	if w.seen.has(key) {
		return key, ErrPageKeyRepeated
	}
	w.seen.add(key)
	return key, nil
}

// run is the walk's loop. fetch starts getting a page and returns a
// function that waits for it: at once without prefetch, or in a goroutine
// with it, so that the next page's request can be started before the
// current page is yielded.
func (w *walk) run(ctx context.Context, yield func(*SessionPage, error) bool, fetch func(string) func() fetched) {
	pending := fetch(w.params.PageKey)
	for {
		r := pending()
		pending = nil
		if r.err != nil {
			yield(nil, &PageError{PageKey: r.key, Pages: w.pages, Err: r.err})
			return
		}
		next, err := w.next(r.page)
		if err == nil && next != "" {
			pending = fetch(next)
		}
		w.pages++
		if !yield(r.page, nil) {
			return
		}
		if err != nil {
			yield(nil, &PageError{PageKey: next, Pages: w.pages, Err: err})
			return
		}
		if next == "" {
			return
		}
	}
}

type fetched struct {
	key  string
	page *SessionPage
	err  error
}

func (w *walk) sequential(ctx context.Context, yield func(*SessionPage, error) bool) {
	w.run(ctx, yield, func(key string) func() fetched {
		return func() fetched {
			page, err := w.fetch(ctx, key)
			return fetched{key, page, err}
		}
	})
}

// prefetched keeps at most one request in flight ahead of the caller.
// When the walk ends early that request is cancelled and waited for, so
// that no goroutine outlives the loop.
func (w *walk) prefetched(ctx context.Context, yield func(*SessionPage, error) bool) {
	ctx, cancel := context.WithCancel(ctx)
	var inflight sync.WaitGroup
	defer func() {
		cancel()
		inflight.Wait()
	}()
	w.run(ctx, yield, func(key string) func() fetched {
		ch := make(chan fetched, 1)
		inflight.Go(func() {
			page, err := w.fetch(ctx, key)
			ch <- fetched{key, page, err}
		})
		return func() fetched { return <-ch }
	})
}

// keySet remembers the page keys of a walk as 64-bit hashes: about 16
// bytes a page whatever the keys' length, so that a walk of millions of
// sessions keeps its memory to a few pages' worth. A false repeat needs a
// hash collision, about one in 10¹¹ for a walk of 10⁴ pages.
type keySet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newKeySet() keySet {
	return keySet{seed: maphash.MakeSeed(), m: make(map[uint64]struct{})}
}

func (s keySet) has(k string) bool {
	_, ok := s.m[maphash.String(s.seed, k)]
	return ok
}

func (s keySet) add(k string) { s.m[maphash.String(s.seed, k)] = struct{}{} }
