// Package kit carries the few settings that the SDK's own test kit,
// agentstest, needs from package agents but that are not part of the
// public API. Package agents fills it in when it is initialised.
package kit

// WaitScale returns an agents.Option (as any, since this package cannot
// import agents) that multiplies every wait the server names
// (Retry-After, the Client-wide hold it sets) by f before sleeping it.
// Decisions still go by what the server said: a Retry-After longer than
// WithMaxRetryWait fails at once whatever f is, and the *APIError reports
// the server's value. A test kit uses it so that a scripted 429 with
// "Retry-After: 1" costs a millisecond, not a second.
var WaitScale func(f float64) any
