package main

import (
	"context"
	"errors"
	"fmt"

	agents "github.com/agentsapi/agents-go"
)

// resumable reports whether running again from the same page key may get
// further: after an interruption, a rate limit, a server error or a
// network failure, yes; after an error about the request itself (a wrong
// agent, key or page key), no.
func resumable(err error) bool {
	var apiErr *agents.APIError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &apiErr):
		return apiErr.StatusCode == 429 || apiErr.StatusCode >= 500
	case errors.Is(err, agents.ErrInvalidRequest), errors.Is(err, agents.ErrPageKeyRepeated):
		return false
	}
	return true
}

// cause strips the walk's *agents.PageError, whose message speaks to Go
// programmers; this program says where to resume in its own words.
func cause(err error) error {
	var pe *agents.PageError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// explain words an error that a resume cannot fix, for a person at a
// terminal.
func explain(err error, o options, out *output) error {
	untouched := "nothing was written"
	if out.kept > 0 {
		untouched = out.partial + " is unchanged"
	}
	var hint string
	switch {
	case errors.Is(err, agents.ErrAgentNotFound):
		hint = fmt.Sprintf("no agent %q: check -agent", o.agent)
	case errors.Is(err, agents.ErrUnauthorized):
		hint = "the API refused the key: check AGENTS_API_KEY"
	case errors.Is(err, agents.ErrForbidden):
		hint = fmt.Sprintf("this key may not read the sessions of %q", o.agent)
	case errors.Is(err, agents.ErrInvalidRequest) && o.resume != "":
		hint = "the request was refused: check -agent, -limit and that the -resume key was copied whole"
	case errors.Is(err, agents.ErrInvalidRequest):
		hint = "the request was refused: check -agent and -limit"
	case errors.Is(err, context.Canceled):
		hint = "interrupted before the first page"
	default:
		hint = "export failed"
	}
	return fmt.Errorf("%s; %s\n  %w", hint, untouched, cause(err))
}
