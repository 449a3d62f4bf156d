package agentsotel

import (
	"context"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	agents "github.com/agentsapi/agents-go"
)

// scope names the tracer and meter, so that a backend can tell the
// SDK's telemetry apart from the program's own.
const scope = "github.com/agentsapi/agents-go/otel"

// An Option configures [Hooks].
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider makes the hooks create spans with tp instead of the
// global provider; nil keeps the global one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider makes the hooks record metrics with mp instead of the
// global provider; nil keeps the global one.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// Hooks returns hooks that trace every call of the Client given them and
// record its metrics; pass them to [agents.WithHooks]. By default they use
// the global providers, otel.GetTracerProvider and otel.GetMeterProvider,
// which forward to the providers a program sets later, so the hooks may
// be made before OpenTelemetry is set up.
//
// The spans and per-call metrics need every one of the hooks' functions:
// give the value whole to WithHooks rather than picking fields from it.
// The gauges of pace and concurrency have no attribute naming the
// Client, so with several Clients in one process they show whichever
// changed its pace last.
func Hooks(opts ...Option) agents.Hooks {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	h := &hooks{
		tracer: cfg.tp.Tracer(scope, trace.WithSchemaURL(semconv.SchemaURL)),
		inst:   newInstruments(cfg.mp.Meter(scope, metric.WithSchemaURL(semconv.SchemaURL))),
	}
	return agents.Hooks{
		OnCall:        h.call,
		OnCallDone:    h.callDone,
		OnAttempt:     h.attempt,
		OnAttemptDone: h.attemptDone,
		OnRetry:       h.retry,
		OnHold:        h.hold,
		OnPacing:      h.pacing,
	}
}

// hooks is one [Hooks] value's tracer and instruments; the context key
// of its per-call state is the pointer itself, so that two sets of these
// hooks on one Client (say, two providers) each find their own.
type hooks struct {
	tracer trace.Tracer
	inst   instruments
}

type stateKey struct{ h *hooks }

// callState is what the hooks know of one call between its events. The
// events of one call come in order, but a walk with prefetch runs calls
// on other goroutines, and nothing promises that one call's events all
// come from one goroutine: mu guards it.
type callState struct {
	mu     sync.Mutex
	span   trace.Span
	start  time.Time
	server []attribute.KeyValue // server.address and server.port
	// open is the attempt whose span has not ended yet: it ends only at
	// the call's next event, since a 200 whose body is then cut off is
	// heard of as an OnAttemptDone with the status and an OnRetry with
	// the error after it.
	open *attemptState
}

type attemptState struct {
	n        int
	span     trace.Span
	answered bool // OnAttemptDone was heard
	status   int
	err      error
	duration time.Duration
}

func (h *hooks) state(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{h}).(*callState)
	return st
}

func (h *hooks) call(ctx context.Context, ev agents.CallEvent) context.Context {
	ctx, span := h.tracer.Start(ctx, "agents.ListSessions",
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("agents.agent_key", ev.AgentKey)))
	st := &callState{span: span, start: time.Now(), server: serverAttrs(ev.URL)}
	return context.WithValue(ctx, stateKey{h}, st)
}

func (h *hooks) attempt(ctx context.Context, ev agents.AttemptEvent) {
	st := h.state(ctx)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.endAttempt(ctx, h, nil)
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, semconv.HTTPRequestMethodGet)
	attrs = append(attrs, st.server...)
	attrs = append(attrs, semconv.URLFull(ev.URL),
		attribute.Int("agents.attempt", ev.Attempt),
		attribute.Float64("agents.wait", ev.Waited.Seconds()))
	if ev.Attempt > 1 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(ev.Attempt-1))
	}
	// The parent is this hooks' call span, even when a later OnCall put
	// a span of its own in the context.
	_, span := h.tracer.Start(trace.ContextWithSpan(ctx, st.span), "GET",
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	st.open = &attemptState{n: ev.Attempt, span: span}
}

func (h *hooks) attemptDone(ctx context.Context, ev agents.AttemptDoneEvent) {
	st := h.state(ctx)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if ev.StatusCode == 429 {
		h.inst.throttled.Add(ctx, 1, metric.WithAttributes(st.server...))
	}
	a := st.open
	if a == nil || a.n != ev.Attempt {
		return
	}
	a.answered, a.status, a.err, a.duration = true, ev.StatusCode, ev.Err, ev.Duration
	if ev.StatusCode > 0 {
		a.span.SetAttributes(semconv.HTTPResponseStatusCode(ev.StatusCode))
	}
	if ev.RequestID != "" {
		a.span.SetAttributes(attribute.String("agents.request_id", ev.RequestID))
	}
}

func (h *hooks) retry(ctx context.Context, ev agents.RetryEvent) {
	st := h.state(ctx)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if a := st.open; a != nil && a.n == ev.Attempt {
		st.endAttempt(ctx, h, ev.Err)
	}
	why := errorType(ev.StatusCode, ev.Err)
	attrs := []attribute.KeyValue{
		attribute.Int("agents.attempt", ev.Attempt),
		attribute.Float64("agents.wait", ev.Wait.Seconds()),
	}
	if ev.StatusCode > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(ev.StatusCode))
	}
	attrs = append(attrs, semconv.ErrorTypeKey.String(why))
	st.span.AddEvent("retry", trace.WithAttributes(attrs...))
	h.inst.retries.Add(ctx, 1, metric.WithAttributes(append(st.server[:len(st.server):len(st.server)], semconv.ErrorTypeKey.String(why))...))
}

func (h *hooks) callDone(ctx context.Context, ev agents.CallDoneEvent) {
	st := h.state(ctx)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	// A call that fails after its last attempt's 2xx failed on that
	// response's body: the attempt gets the error. An attempt that got
	// an error status or none already has its own.
	var late error
	if a := st.open; a != nil && a.n == ev.Attempts && a.status < 400 {
		late = ev.Err
	}
	st.endAttempt(ctx, h, late)
	attrs := []attribute.KeyValue{
		attribute.Int("agents.attempts", ev.Attempts),
		attribute.Float64("agents.waited", ev.Waited.Seconds()),
	}
	if ev.StatusCode > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(ev.StatusCode))
	}
	if ev.RequestID != "" {
		attrs = append(attrs, attribute.String("agents.request_id", ev.RequestID))
	}
	mattrs := st.server[:len(st.server):len(st.server)]
	if ev.Err != nil {
		et := semconv.ErrorTypeKey.String(errorType(ev.StatusCode, ev.Err))
		attrs = append(attrs, et)
		mattrs = append(mattrs, et)
		st.span.SetStatus(codes.Error, ev.Err.Error())
	}
	st.span.SetAttributes(attrs...)
	st.span.End()
	h.inst.callDuration.Record(ctx, time.Since(st.start).Seconds(), metric.WithAttributes(mattrs...))
}

// endAttempt ends the open attempt's span, if any, with late as its
// error when it got a 2xx and then failed (a body cut off or not a
// page), and records its duration.
func (st *callState) endAttempt(ctx context.Context, h *hooks, late error) {
	a := st.open
	if a == nil {
		return
	}
	st.open = nil
	if !a.answered {
		a.span.End()
		return
	}
	if a.err == nil && a.status < 400 {
		a.err = late
	}
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs, semconv.HTTPRequestMethodGet)
	attrs = append(attrs, st.server...)
	if a.status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(a.status))
	}
	if a.err != nil || a.status >= 400 {
		et := semconv.ErrorTypeKey.String(errorType(a.status, a.err))
		attrs = append(attrs, et)
		a.span.SetAttributes(et)
		// The conventions leave the description empty when the status
		// code says it all.
		desc := ""
		if a.err != nil {
			desc = a.err.Error()
		}
		a.span.SetStatus(codes.Error, desc)
	}
	a.span.End()
	h.inst.requestDuration.Record(ctx, a.duration.Seconds(), metric.WithAttributes(attrs...))
}

func (h *hooks) hold(ev agents.HoldEvent) {
	h.inst.hold.Record(context.Background(), ev.Duration.Seconds())
}

func (h *hooks) pacing(ev agents.PacingEvent) {
	ctx := context.Background()
	h.inst.rate.Record(ctx, ev.Rate)
	h.inst.concurrency.Record(ctx, int64(ev.Concurrency))
}

// serverAttrs are server.address and server.port of a call's URL, the
// port made explicit from the scheme when the URL has none, as the
// conventions ask.
func serverAttrs(rawURL string) []attribute.KeyValue {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		switch u.Scheme {
		case "https":
			port = 443
		case "http":
			port = 80
		}
	}
	return []attribute.KeyValue{semconv.ServerAddress(u.Hostname()), semconv.ServerPort(port)}
}
