package agents

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

// outage is a run of consecutive failed fetches of one page in a walk.
type outage struct {
	since time.Time // when the first of them failed; zero when none
	tries int       // resumptions so far
}

// resume decides whether a walk fetches a page again after its call
// failed with err, and waits first. A walk knows exactly where it
// stands, so it can ride out an outage longer than one call's retries
// cover: it keeps trying while the failures are transient and the run of
// them fits in WithWalkRetryBudget. Each wait is the server's
// Retry-After or a jittered backoff; like every other wait, one longer
// than WithMaxRetryWait or ending past the context's deadline is not
// started. It returns nil to try again, else the error the walk ends with.
func (w *walk) resume(ctx context.Context, key string, err error, o *outage) error {
	c := w.c
	if c.walkBudget <= 0 || !transient(err) {
		return err
	}
	now := time.Now()
	if o.since.IsZero() {
		o.since = now
	}
	wait := backoff(c.backoffMin, c.backoffMax, o.tries)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		if apiErr.RetryAfter > c.maxRetryWait {
			return err
		}
		wait = scaled(apiErr.RetryAfter, c.waitScale)
	}
	if wait > c.maxRetryWait || now.Add(wait).Sub(o.since) > c.walkBudget || pastDeadline(ctx, wait) {
		return err
	}
	o.tries++
	c.log.LogAttrs(ctx, slog.LevelInfo, "agents: resuming walk",
		slog.Int("pages", w.pages),
		slog.String("page_key", clean(key, 120)),
		slog.Int("resumption", o.tries),
		slog.Duration("wait", wait),
		slog.Duration("outage", now.Sub(o.since)),
		slog.String("error", err.Error()),
	)
	return sleep(ctx, wait)
}

// transient reports whether a call's final error may go away on its own:
// a 429 or 5xx the call gave up on, or a connection or attempt that
// failed in a way the call's own retries would have retried.
func transient(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		switch apiErr.StatusCode {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	// retryable classifies the *url.Error that tidy wrapped.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr
	}
	return retryable(err)
}
