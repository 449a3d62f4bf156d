// Package agents is the Go SDK for the Agents API's session listing: it
// lists, pages through and walks the sessions of an agent, and takes care
// of cursors, retries, rate limits and flaky networks.
//
// Create one [Client] per API key and share it between goroutines:
//
//	client, err := agents.NewClient() // AGENTS_API_KEY, AGENTS_BASE_URL
//	if err != nil {
//		log.Fatal(err)
//	}
//	page, err := client.ListSessions(ctx, "agt_customer_support", agents.ListSessionsParams{Limit: 20})
//	if err != nil {
//		log.Fatal(err)
//	}
//	fmt.Println(page.Metadata.TotalCount, "sessions in all")
//
// # Pagination
//
// [Client.ListSessions] fetches one page; its [PageMetadata].PageKey is
// the opaque cursor of the next one, "" on the last page. To walk every
// page or every session, range over [Client.SessionPages] or
// [Client.AllSessions]:
//
//	for s, err := range client.AllSessions(ctx, "agt_customer_support", agents.ListSessionsParams{}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(s.ID)
//	}
//
// The walks ask for 100 sessions a page unless Limit says otherwise,
// yield each session once in server order, stop sending requests when the
// loop breaks, and end with [ErrPageKeyRepeated] rather than loop if the
// server hands back a page key they have already followed. A walk that
// fails ends with a [*PageError] whose PageKey resumes it where it
// stopped; before that, it rides out transient failures of a page for up
// to [WithWalkRetryBudget]. [WithPrefetch] fetches the next page while
// the loop body works on the current one.
//
// # Errors
//
// Errors from the API are [*APIError] values carrying the status, the
// server's code and message, the X-Request-Id and any Retry-After. Tell
// the documented ones apart with [errors.Is] and the sentinels
// [ErrInvalidRequest], [ErrUnauthorized], [ErrForbidden],
// [ErrAgentNotFound] and [ErrRateLimitExceeded]; they match by the
// server's code, or by the status when the code is missing or unknown,
// except a 404: it matches [ErrAgentNotFound] only when the server says
// agent_not_found, since a wrong base URL or a proxy answers 404 too, and
// its message then suggests checking the base URL.
// Input the client can check itself (an agent key off
// ^agt_[0-9a-zA-Z_-]+$, a Limit outside 0..100) fails before any request
// with an error that matches [ErrInvalidRequest] and is not an
// [*APIError]. A context that is cancelled or expires ends a call with an
// error that matches the context's error. Every error message starts with
// "agents: ", and none ever contains the API key.
//
// # Retries and rate limits
//
// A call is retried, up to [WithMaxRetries] times (3 by default), after a
// 429, a 500, 502, 503 or 504, a connection that was refused, reset or
// dropped, a DNS lookup that failed for the moment, a 2xx body cut off
// before its end, or an attempt that took longer than
// [WithAttemptTimeout] (30s by default). Other 4xx, 501, a complete
// response that is not a valid page, a host name that does not resolve
// (a typo in the base URL, which retrying would not fix), and a cancelled
// context are never retried. When retries run out, the last response is
// returned as an [*APIError].
//
// When the server sends Retry-After (delta-seconds, any HTTP-date form,
// "UTC" included, or Retry-After-Ms), the next attempt is not sent before
// that time. A date is measured from the server's Date header when the
// two clocks disagree, and waited to the end of the whole second it
// names, since servers truncate. Otherwise the client backs
// off exponentially with jitter, between the bounds of
// [WithRetryBackoff]. A wait longer than [WithMaxRetryWait] (one minute by
// default), or one that would end after the context's deadline, is not
// started: the call returns its last error at once, for a 429 an
// [*APIError] whose RetryAfter says how long the server asked for. The
// same goes for every other wait a call can meet. Cancelling the context
// ends any wait at once.
//
// A 429 with Retry-After holds back every call on the same Client until
// that time, for at most one minute whatever the header says, and they
// then resume spread out, not all at once. A call that would wait longer
// than [WithMaxRetryWait] for a hold fails at once with the 429.
// [WithRateLimit] paces every attempt of every call to a known rate.
// Without it, the Client paces itself adaptively, and reads the server
// before it guesses:
//
//   - When responses carry rate-limit headers (X-RateLimit-Limit,
//     -Remaining and -Reset in their common forms, or the IETF RateLimit
//     and RateLimit-Policy fields), it paces at the announced limit, a
//     little under it, and sends nothing into a window that is spent.
//     Headers are hints: several Clients on one key cut their shares
//     when a window runs dry under them, and grow them back after. A
//     window of ten seconds or more (an hourly or daily quota) is only
//     guarded, not paced; a spent quota stops the Client for at most a
//     minute at a time, like a hold.
//   - Without headers, it sends freely until the first 429, then learns
//     the rate the server accepts. Each 429 holds the whole Client, so
//     each is made a measurement: an opening that got a second's worth
//     through measured a window's limit; otherwise a slow start doubles
//     until refused, and what got through since the server's allowance
//     was last full says the server's rate. Where nothing can be
//     measured, the rate is bracketed between one that held and one that
//     failed, and each probe between them is weighed against the hold
//     it risks; a converged rate probes again only after 30 seconds.
//   - When 429s come fast while slow requests of its own are in flight,
//     the server caps concurrency, not rate: the Client then caps its
//     requests in flight at the number the opening found in the
//     server's slots, instead of slowing down.
//
// [Client.PacingStats] reports what the Client believes and does (its
// pace, the server's limit as announced, holds, 429s and retries), for a
// dashboard or a log line. BENCHMARKS.md has the figures against real
// rate-limiting middleware.
//
// A fleet of processes on one API key shares its limit through a [Pacer]
// put in front of the built-in one with [WithPacer]: the agentsredis
// module (github.com/agentsapi/agents-go/redis) is one, sharing the
// limit, the hold and what is learnt of the limit through Redis, and
// pacing locally when Redis is down.
//
// Logging goes only to the [log/slog.Logger] given with [WithLogger]: a
// debug line per retry and a warning when the client gives up.
//
// # Security
//
// The API key is sent only as "Authorization: Bearer <key>" to the base
// URL's scheme, host and port; a redirect elsewhere does not carry it.
// Plain http:// is accepted only for loopback hosts. Page responses are
// read through a [MaxResponseBytes] cap and error bodies through a smaller
// one; error messages quote at most a short excerpt of an unexpected body.
// See SECURITY.md.
package agents
