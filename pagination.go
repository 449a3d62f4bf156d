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
// same sessions again. It arrives wrapped in a [*PageError] whose PageKey
// is the key of the page that pointed back; that page is not yielded, so
// that a walk resumed from PageKey yields nothing twice.
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
// The call options apply to every page request.
//
// With MaxItems set the walk stops once it has yielded MaxItems sessions,
// and asks each page for no more than it still needs, so MaxItems 150
// costs two requests (100 and 50). It therefore stops at a page boundary:
// the last page's Metadata.PageKey resumes it exactly, no session twice
// and none skipped, or is "" when the list has no more. (A server that
// sends more than the limit asked has its extra sessions cut off, and a
// resumed walk does not see them.)
//
// On a failure the iterator yields one (nil, err) and stops. Invalid input
// fails before any request, as with [Client.ListSessions]; any other err
// is a [*PageError] that says where to resume. Before giving up on a page
// that failed transiently (a 429 or 5xx, a refused or dropped
// connection), the walk tries it again for up to [WithWalkRetryBudget],
// 30 seconds by default, logging each resumption. Breaking out of the loop sends
// no further request and leaves no goroutine behind. With [WithPrefetch]
// the next page is fetched while the loop body runs.
func (c *Client) SessionPages(ctx context.Context, agentKey string, params ListSessionsParams, opts ...CallOption) iter.Seq2[*SessionPage, error] {
	pages := func(yield func(*SessionPage, error) bool) {
		// The sequence may be ranged more than once, even at once: each
		// run works on its own copy of params.
		p := params
		if err := validate(agentKey, p); err != nil {
			yield(nil, err)
			return
		}
		o, err := c.callOptions(opts)
		if err != nil {
			yield(nil, err)
			return
		}
		if p.Limit == 0 {
			p.Limit = maxLimit
		}
		w := &walk{c: c, agentKey: agentKey, params: p, opts: o, left: p.MaxItems, seen: newKeySet()}
		w.seen.add(p.PageKey)
		if c.prefetch {
			w.prefetched(ctx, yield)
		} else {
			w.sequential(ctx, yield)
		}
	}
	return c.observePages(ctx, params.PageKey, pages)
}

// AllSessions walks every session of agentKey, once each, in server order,
// fetching pages as [Client.SessionPages] does, with the same errors and
// the same MaxItems cap. On a failure it yields one (Session{}, err) and
// stops. To resume a walk stopped by MaxItems, walk with SessionPages and
// keep the last page's Metadata.PageKey.
func (c *Client) AllSessions(ctx context.Context, agentKey string, params ListSessionsParams, opts ...CallOption) iter.Seq2[Session, error] {
	return func(yield func(Session, error) bool) {
		for page, err := range c.SessionPages(ctx, agentKey, params, opts...) {
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
	opts     callOptions
	left     int // sessions still wanted, when params.MaxItems is set
	seen     keySet
	pages    int
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
	var out outage
	for {
		r := pending()
		pending = nil
		if r.err != nil {
			if err := w.resume(ctx, r.key, r.err, &out); err != nil {
				yield(nil, &PageError{PageKey: r.key, Pages: w.pages, Err: err})
				return
			}
			pending = fetch(r.key)
			continue
		}
		out = outage{}
		next := "" // MaxItems reached: this page is the last
		if !w.take(r.page) {
			var err error
			if next, err = w.next(r.page); err != nil {
				// The page is not yielded: resuming from its key reads it
				// then, and nothing yielded here is yielded again.
				yield(nil, &PageError{PageKey: r.key, Pages: w.pages, Err: err})
				return
			}
		}
		if next != "" {
			pending = fetch(next)
		}
		w.pages++
		if !yield(r.page, nil) {
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
			page, err := w.c.fetch(ctx, w.agentKey, w.url(key), w.opts)
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
		u := w.url(key) // now: the limit depends on what the walk has taken
		inflight.Go(func() {
			page, err := w.c.fetch(ctx, w.agentKey, u, w.opts)
			ch <- fetched{key, page, err}
		})
		return func() fetched { return <-ch }
	})
}

// keySet remembers the page keys of a walk as 64-bit hashes, whatever the
// keys' length: 24 to 36 bytes a page with the map's overhead (30 B/key
// measured at 10M keys; see TestKeySetMemory), so that a walk of millions
// of sessions keeps well under a MiB for them. A false repeat needs a hash
// collision, about one in 10¹¹ for a walk of 10⁴ pages.
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
