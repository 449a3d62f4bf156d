package agents

import "time"

// PacingStats is what a Client believes about the server's limits and
// what it has done about them, as [Client.PacingStats] reports it. It is
// a copy: reading it takes one lock and changes nothing.
type PacingStats struct {
	// Mode says where the pace comes from: "unpaced" (no limit in sight),
	// "headers" (the server's rate-limit headers), "learned" (learnt from
	// 429s), "fixed" ([WithRateLimit] alone) or "off" (pacing turned off).
	Mode string
	// Rate is the pace in requests a second; 0 when not pacing by rate.
	Rate float64
	// Concurrency is the cap on requests in flight; 0 when there is none.
	Concurrency int
	// InFlight is how many requests are in flight now.
	InFlight int
	// ServerLimit, ServerWindow and ServerRemaining are the server's limit
	// as its headers last gave it: ServerLimit requests per ServerWindow,
	// ServerRemaining of them left (-1 when never sent).
	ServerLimit     int
	ServerWindow    time.Duration
	ServerRemaining int
	// HoldUntil is when the Client-wide hold after a 429 ends; zero when
	// there is none.
	HoldUntil time.Time
	// Requests, Throttled and Holds count, since the Client was made, the
	// answers received, the 429s among them, and the holds they set.
	// Retries counts attempts that were retries.
	Requests  int64
	Throttled int64
	Holds     int64
	Retries   int64
}

// PacingStats reports what the Client believes about the server's limits
// and what it has done about them: the pace it keeps, the limit the server
// announced, holds, 429s and retries so far. It is cheap (one lock, no
// allocation) and safe to call from any goroutine, for a dashboard or a
// log line once a second.
func (c *Client) PacingStats() PacingStats { return c.pacer.stats() }
