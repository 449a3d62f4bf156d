package agents

// defaultLimit is the page size the server uses when no limit is sent.
const defaultLimit = 10

// capLimit is the limit to send for a request that may return at most
// maxItems sessions (0: no cap). A limit of 0 is left to the server's
// default unless that is more than maxItems, so that a call whose cap
// does not bite sends the same request as one without it.
func capLimit(limit, maxItems int) int {
	switch {
	case maxItems <= 0:
		return limit
	case limit == 0 && maxItems < defaultLimit, limit > maxItems:
		return maxItems
	}
	return limit
}

// keep cuts page down to at most n sessions (0: no cap), for a server that
// sent more than the limit asked.
func keep(page *SessionPage, n int) {
	if n > 0 && len(page.Sessions) > n {
		page.Sessions = page.Sessions[:n:n]
	}
}

// url is the request for the page at key, asking for no more sessions
// than the walk still wants.
func (w *walk) url(key string) string {
	p := w.params
	p.PageKey = key
	if p.MaxItems > 0 {
		p.Limit = capLimit(p.Limit, w.left)
	}
	return w.c.pageURL(w.agentKey, p)
}

// take counts page against MaxItems and reports whether the walk now has
// all it wants, which makes page its last.
func (w *walk) take(page *SessionPage) bool {
	if w.params.MaxItems == 0 {
		return false
	}
	keep(page, w.left)
	w.left -= len(page.Sessions)
	return w.left <= 0
}
