package agentsotel_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	agents "github.com/agentsapi/agents-go"
	"github.com/agentsapi/agents-go/internal/fakeapi"
	agentsotel "github.com/agentsapi/agents-go/otel"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is a fake API, a Client for it with the hooks installed, and the
// in-memory span recorder and metric reader the hooks report to.
type env struct {
	t      *testing.T
	srv    *fakeapi.Server
	c      *agents.Client
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	port   int64
}

// setup starts the fake API and a Client with millisecond retry waits;
// opts are applied after the defaults.
func setup(t *testing.T, opts ...agents.Option) *env {
	t.Helper()
	e := &env{t: t, srv: fakeapi.New(), spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	t.Cleanup(e.srv.Close)
	u, err := url.Parse(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	e.port, _ = strconv.ParseInt(u.Port(), 10, 64)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	base := []agents.Option{
		agents.WithBaseURL(e.srv.URL),
		agents.WithAPIKey(fakeapi.DefaultKey),
		agents.WithHTTPClient(e.srv.Client()),
		agents.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
		agents.WithHooks(agentsotel.Hooks(agentsotel.WithTracerProvider(tp), agentsotel.WithMeterProvider(mp))),
	}
	e.c, err = agents.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return e
}

// node is a span as the tests compare it: what the hooks decide, with
// what varies from run to run (times, ports) normalised by env.value.
type node struct {
	Name     string
	Kind     string
	Status   string
	Attrs    map[string]any
	Events   []event
	Children []node
}

type event struct {
	Name  string
	Attrs map[string]any
}

// tree returns the ended spans as trees: roots in the order of their
// agents.request_id (the fake numbers its responses), children in the
// order of their agents.attempt. It fails the test on a span whose
// parent is not among them, other than a root.
func (e *env) tree() []node {
	e.t.Helper()
	ended := e.spans.Ended()
	byParent := map[string][]sdktrace.ReadOnlySpan{}
	ids := map[string]bool{}
	for _, s := range ended {
		ids[s.SpanContext().SpanID().String()] = true
	}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range ended {
		if !s.Parent().IsValid() {
			roots = append(roots, s)
			continue
		}
		p := s.Parent().SpanID().String()
		if !ids[p] {
			e.t.Errorf("span %q has a parent that was not recorded", s.Name())
		}
		if s.Parent().TraceID() != s.SpanContext().TraceID() {
			e.t.Errorf("span %q is not in its parent's trace", s.Name())
		}
		byParent[p] = append(byParent[p], s)
	}
	var build func(s sdktrace.ReadOnlySpan) node
	build = func(s sdktrace.ReadOnlySpan) node {
		n := node{Name: s.Name(), Kind: s.SpanKind().String(), Status: s.Status().Code.String(), Attrs: e.attrs(s.Attributes())}
		if d := s.Status().Description; d != "" {
			n.Status += ": " + d
		}
		for _, ev := range s.Events() {
			n.Events = append(n.Events, event{ev.Name, e.attrs(ev.Attributes)})
		}
		kids := byParent[s.SpanContext().SpanID().String()]
		for _, k := range kids {
			n.Children = append(n.Children, build(k))
		}
		sort.Slice(n.Children, func(i, j int) bool {
			return fmt.Sprint(n.Children[i].Attrs["agents.attempt"]) < fmt.Sprint(n.Children[j].Attrs["agents.attempt"])
		})
		return n
	}
	var out []node
	for _, r := range roots {
		out = append(out, build(r))
	}
	sort.SliceStable(out, func(i, j int) bool {
		return fmt.Sprint(out[i].Attrs["agents.request_id"]) < fmt.Sprint(out[j].Attrs["agents.request_id"])
	})
	return out
}

func (e *env) attrs(kvs []attribute.KeyValue) map[string]any {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = e.value(kv)
	}
	return m
}

// value is kv's value, with the fake's port as "PORT", URLs relative to
// the fake's base URL, and a time waited as "seconds" when it is a
// number of seconds: how long is not for a test on a busy machine to
// say.
func (e *env) value(kv attribute.KeyValue) any {
	v := kv.Value.AsInterface()
	switch kv.Key {
	case "server.port":
		if v == e.port {
			return "PORT"
		}
	case "url.full":
		if s, ok := strings.CutPrefix(v.(string), e.srv.URL); ok {
			return "BASE" + s
		}
	case "agents.wait", "agents.waited":
		if f, ok := v.(float64); ok && f >= 0 {
			return "seconds"
		}
	}
	return v
}

// point is one data point of a metric as the tests compare it.
type point struct {
	Attrs map[string]any
	// Count is a histogram's count, Value a counter's or gauge's value.
	Count uint64
	Value float64
}

// metrics collects what the hooks recorded, by instrument name, points
// in a stable order.
func (e *env) metrics() map[string][]point {
	e.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]point{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/agentsapi/agents-go/otel" {
			e.t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			var pts []point
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					pts = append(pts, point{Attrs: e.attrs(p.Attributes.ToSlice()), Count: p.Count})
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					pts = append(pts, point{Attrs: e.attrs(p.Attributes.ToSlice()), Value: float64(p.Value)})
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					pts = append(pts, point{Attrs: e.attrs(p.Attributes.ToSlice()), Value: p.Value})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					pts = append(pts, point{Attrs: e.attrs(p.Attributes.ToSlice()), Value: float64(p.Value)})
				}
			default:
				e.t.Errorf("metric %s has data of type %T", m.Name, m.Data)
			}
			slices.SortFunc(pts, func(a, b point) int { return strings.Compare(fmt.Sprint(a.Attrs), fmt.Sprint(b.Attrs)) })
			out[m.Name] = pts
		}
	}
	return out
}

// a builds an attribute map from alternating keys and values.
func a(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// with returns a copy of m with the given keys and values added.
func with(m map[string]any, kv ...any) map[string]any {
	out := a(kv...)
	for k, v := range m {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}
