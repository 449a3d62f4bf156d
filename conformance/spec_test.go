package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// spec is openapi.yaml, loaded and checked once; each test routes it to
// its own server with router.
var spec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile("../openapi.yaml")
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	return doc, nil
})

// router routes requests to baseURL (a fake's URL, base path included) by
// the spec, as the spec's own server would be.
func router(t *testing.T, baseURL string) routers.Router {
	t.Helper()
	doc, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	local := *doc
	local.Servers = openapi3.Servers{{URL: baseURL}}
	r, err := gorillamux.NewRouter(&local)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// options: every status must be documented, and the Bearer scheme is
// checked as the contract states it.
var options = &openapi3filter.Options{
	IncludeResponseStatus: true,
	MultiError:            true,
	AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
		if in.SecuritySchemeName != "bearerAuth" {
			return in.NewError(fmt.Errorf("unknown scheme %q", in.SecuritySchemeName))
		}
		token, ok := strings.CutPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(token) == "" || token != strings.TrimSpace(token) {
			return in.NewError(errors.New(`want "Authorization: Bearer <api key>"`))
		}
		return nil
	},
}

// route finds the spec's operation for req.
func route(r routers.Router, req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	rt, params, err := r.FindRoute(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: no route in openapi.yaml: %w", req.Method, req.URL, err)
	}
	return &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: rt, Options: options}, nil
}

// checkRequest validates a request against the spec.
func checkRequest(r routers.Router, req *http.Request) error {
	in, err := route(r, req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(req.Context(), in)
}

// checkResponse validates a response, with its body, against the spec's
// description of the answer to req; the request itself is not judged.
func checkResponse(r routers.Router, req *http.Request, status int, header http.Header, body []byte) error {
	in, err := route(r, req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                options,
	})
}
