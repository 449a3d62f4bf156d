// Package conformance holds only tests: they check the SDK's requests and
// the fake API's responses (package agentstest) against the repository's
// openapi.yaml with a real OpenAPI validator, so that neither can drift
// from the API's documentation unnoticed. It is a module of its own so
// that the validator never reaches the library's go.mod.
package conformance
