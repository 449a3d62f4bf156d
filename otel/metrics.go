package agentsotel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
)

// instruments are the hooks' metrics; the README's table describes each.
type instruments struct {
	requestDuration metric.Float64Histogram
	callDuration    metric.Float64Histogram
	retries         metric.Int64Counter
	throttled       metric.Int64Counter
	hold            metric.Float64Histogram
	rate            metric.Float64Gauge
	concurrency     metric.Int64Gauge
}

// callBuckets are the conventions' HTTP duration boundaries, extended to
// the minutes a call can take when it rides out retries and holds.
var callBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120}

// holdBuckets span a hold's range: a Retry-After of milliseconds up to
// the minute the Client holds at most.
var holdBuckets = []float64{0.01, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60}

// newInstruments creates the instruments on m. An instrument m refuses
// is reported to the global error handler and replaced by a no-op one,
// as OpenTelemetry's own instrumentation does: telemetry must not stop
// the program, and Hooks has no error to return.
func newInstruments(m metric.Meter) instruments {
	dur, err := httpconv.NewClientRequestDuration(m)
	in := instruments{requestDuration: or(dur.Inst(), err, metric.Float64Histogram(noop.Float64Histogram{}))}
	callDuration, err := m.Float64Histogram("agents.client.call.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of SDK calls (a ListSessions, or one page of a walk), retries and waits included."),
		metric.WithExplicitBucketBoundaries(callBuckets...))
	in.callDuration = or(callDuration, err, metric.Float64Histogram(noop.Float64Histogram{}))
	retries, err := m.Int64Counter("agents.client.retries",
		metric.WithUnit("{retry}"),
		metric.WithDescription("Attempts that failed and were retried."))
	in.retries = or(retries, err, metric.Int64Counter(noop.Int64Counter{}))
	throttled, err := m.Int64Counter("agents.client.throttled",
		metric.WithUnit("{response}"),
		metric.WithDescription("429 Too Many Requests responses received."))
	in.throttled = or(throttled, err, metric.Int64Counter(noop.Int64Counter{}))
	hold, err := m.Float64Histogram("agents.client.hold.duration",
		metric.WithUnit("s"),
		metric.WithDescription("How long each Client-wide hold, set or extended by a 429 with Retry-After, holds every call."),
		metric.WithExplicitBucketBoundaries(holdBuckets...))
	in.hold = or(hold, err, metric.Float64Histogram(noop.Float64Histogram{}))
	rate, err := m.Float64Gauge("agents.client.pacing.rate",
		metric.WithUnit("{request}/s"),
		metric.WithDescription("The pace the Client sends at; 0 when it does not pace."))
	in.rate = or(rate, err, metric.Float64Gauge(noop.Float64Gauge{}))
	concurrency, err := m.Int64Gauge("agents.client.pacing.concurrency",
		metric.WithUnit("{request}"),
		metric.WithDescription("The cap on the Client's requests in flight; 0 when there is none."))
	in.concurrency = or(concurrency, err, metric.Int64Gauge(noop.Int64Gauge{}))
	return in
}

// or is inst, or fallback when err says the meter refused it.
func or[T any](inst T, err error, fallback T) T {
	if err != nil {
		otel.Handle(err)
		return fallback
	}
	return inst
}
