package agentsotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/agentstest"
	agentsotel "github.com/agentsapi/agents-go/otel"
)

// A call retried after a 503: one call span with an attempt span for
// each try. A program would usually set the global providers instead
// and pass agentsotel.Hooks() with no options.
func Example() {
	srv := agentstest.NewServer()
	defer srv.Close()
	srv.Script(agentstest.Error(http.StatusServiceUnavailable, ""), agentstest.Pass())

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	client, err := srv.NewClient(agents.WithHooks(agentsotel.Hooks(agentsotel.WithTracerProvider(tp))))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := client.ListSessions(context.Background(), "agt_customer_support", agents.ListSessionsParams{Limit: 3}); err != nil {
		log.Fatal(err)
	}

	// Spans end children first.
	for _, s := range spans.Ended() {
		line := fmt.Sprintf("%s (%s) %s", s.Name(), s.SpanKind(), s.Status().Code)
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case "agents.attempt", "agents.attempts", "http.response.status_code", "error.type":
				line += fmt.Sprintf(" %s=%s", kv.Key, kv.Value.String())
			}
		}
		for _, ev := range s.Events() {
			line += " event=" + ev.Name
		}
		fmt.Println(line)
	}
	// Output:
	// GET (client) Error agents.attempt=1 http.response.status_code=503 error.type=503
	// GET (client) Unset agents.attempt=2 http.response.status_code=200
	// agents.ListSessions (internal) Unset agents.attempts=2 http.response.status_code=200 event=retry
}
