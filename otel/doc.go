// Package agentsotel traces and measures an agents.Client with
// OpenTelemetry, through the Client's lifecycle hooks:
//
//	client, err := agents.NewClient(agents.WithHooks(agentsotel.Hooks()))
//
// Every call (a ListSessions, or the fetch of one page of a walk) gets a
// span of kind internal named "agents.ListSessions", and each HTTP attempt
// within it a child span of kind client named "GET", with the attributes
// of the OpenTelemetry semantic conventions for HTTP clients and the
// SDK's own (attempt number, time waited before it, request id). Retries
// are events on the call span.
//
// The metrics are the conventions' http.client.request.duration, one
// value per attempt, and the SDK's own under agents.client.*: call
// duration, retries, 429s received, Client-wide holds, and the pace and
// concurrency cap the Client keeps. The README lists each with its unit
// and attributes.
//
// Neither spans nor metrics ever carry the API key: the SDK sends it in a
// header, and no event the hooks receive holds it.
package agentsotel
