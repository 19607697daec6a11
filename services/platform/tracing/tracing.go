// Package tracing sets up OpenTelemetry tracing for a service: one trace per
// order, from the REST call through MariaDB, Debezium and Kafka to every
// event handler and its Redis work. It owns the settings (the OpenTelemetry
// specification's OTEL_* variables), the sampler, the W3C trace-context
// propagation, the outbox's copy of a span's context, and the log lines'
// trace and span ids.
package tracing

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/zipkin"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/store-manager/store-manager/services/platform/config"
)

// Config is where and how a service sends its spans, from the environment.
type Config struct {
	// Exporter is OTEL_TRACES_EXPORTER: zipkin (the default) or none.
	Exporter string
	// Endpoint is OTEL_EXPORTER_ZIPKIN_ENDPOINT, where Zipkin takes spans.
	Endpoint string
	// Sampler decides which new traces are kept (OTEL_TRACES_SAMPLER and
	// OTEL_TRACES_SAMPLER_ARG, or DefaultSampler); a span with a parent
	// follows its parent.
	Sampler sdktrace.Sampler
}

// Exporters OTEL_TRACES_EXPORTER may name.
const (
	ExporterZipkin = "zipkin"
	ExporterNone   = "none"
)

// LoadConfig reads the OpenTelemetry variables; defaultEndpoint is the
// instance's Zipkin. OTEL_SDK_DISABLED=true is the exporter none.
func LoadConfig(r *config.Reader, defaultEndpoint string) Config {
	cfg := Config{
		Exporter: strings.ToLower(config.Env("OTEL_TRACES_EXPORTER", ExporterZipkin)),
		Endpoint: config.Env("OTEL_EXPORTER_ZIPKIN_ENDPOINT", defaultEndpoint),
	}
	if r.Bool("OTEL_SDK_DISABLED", false) {
		cfg.Exporter = ExporterNone
	}
	if cfg.Exporter != ExporterZipkin && cfg.Exporter != ExporterNone {
		r.Check("OTEL_TRACES_EXPORTER", fmt.Errorf("want %q or %q, not %q", ExporterZipkin, ExporterNone, cfg.Exporter))
	}
	var err error
	cfg.Sampler, err = ParseSampler(config.Env("OTEL_TRACES_SAMPLER", ""), config.Env("OTEL_TRACES_SAMPLER_ARG", ""))
	r.Check("OTEL_TRACES_SAMPLER", err)
	return cfg
}

// ReadsSampled is the share of reads (GET and HEAD requests that come
// without a trace) that DefaultSampler traces.
const ReadsSampled = 0.01

// ParseSampler is the sampler the specification names (always_on,
// always_off, traceidratio, and each with parentbased_ before it; arg is
// traceidratio's ratio, 1 when empty), or DefaultSampler when name is
// empty. Here a span with a parent always follows its parent's decision,
// so one saga is kept whole or not at all, and a new trace starts only at
// a request or an event from outside a trace (its first span is a server or
// consumer span): the work of the background loops (the outbox janitor,
// the deadline sweep, health checks) is not traced.
func ParseSampler(name, arg string) (sdktrace.Sampler, error) {
	if name == "" {
		return DefaultSampler(), nil
	}
	var root sdktrace.Sampler
	switch strings.TrimPrefix(strings.ToLower(name), "parentbased_") {
	case "always_on":
		root = sdktrace.AlwaysSample()
	case "always_off":
		root = sdktrace.NeverSample()
	case "traceidratio":
		ratio := 1.0
		if arg != "" {
			var err error
			if ratio, err = strconv.ParseFloat(arg, 64); err != nil || ratio < 0 || ratio > 1 {
				return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: want a ratio from 0 to 1, not %q", arg)
			}
		}
		root = sdktrace.TraceIDRatioBased(ratio)
	default:
		return nil, fmt.Errorf("want always_on, always_off or traceidratio (with or without parentbased_), not %q", name)
	}
	return sdktrace.ParentBased(entrySampler{writes: root, reads: root}), nil
}

// WritesTracedPerSecond bounds the traces DefaultSampler starts for writes
// (write requests, and events that come without a trace), per process.
const WritesTracedPerSecond = 20

// DefaultSampler traces every saga (every write request, and every event
// that comes without a trace) while fewer than WritesTracedPerSecond come
// a second, and that many a second past it: a trace costs about as much
// again as the saga's own work, in its spans and in the backend, so under
// load it is a sample that is kept, and the work it would cost is not
// done. Reads are traced at ReadsSampled: a read is cheap and many, and a
// trace of each would cost more than the read.
func DefaultSampler() sdktrace.Sampler {
	return sdktrace.ParentBased(entrySampler{writes: newPerSecond(WritesTracedPerSecond), reads: sdktrace.TraceIDRatioBased(ReadsSampled)})
}

// perSecond starts up to n traces a second (a burst of n), and no more.
type perSecond struct {
	limit *rate.Limiter
	n     int
}

func newPerSecond(n int) perSecond { return perSecond{rate.NewLimiter(rate.Limit(n), n), n} }

func (s perSecond) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	decision := sdktrace.Drop
	if s.limit.Allow() {
		decision = sdktrace.RecordAndSample
	}
	return sdktrace.SamplingResult{Decision: decision, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
}

func (s perSecond) Description() string { return fmt.Sprintf("PerSecond{%d}", s.n) }

// entrySampler starts a trace only at a server or consumer span: a read
// request's as reads decides, the others' as writes does.
type entrySampler struct{ writes, reads sdktrace.Sampler }

func (s entrySampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	switch {
	case p.Kind != trace.SpanKindServer && p.Kind != trace.SpanKindConsumer:
		return sdktrace.SamplingResult{Decision: sdktrace.Drop, Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
	case p.Kind == trace.SpanKindServer && readRequest(p.Attributes):
		if chosen, _ := p.ParentContext.Value(readChosenKey{}).(bool); chosen {
			return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
		}
		return s.reads.ShouldSample(p)
	}
	return s.writes.ShouldSample(p)
}

// readChosenKey marks, in a read request's context, that TraceRequest
// already chose to trace it: the sampler does not draw a second time.
type readChosenKey struct{}

// readAttrs are the attributes TraceRequest shows the sampler, by method:
// made once, not for every read.
var readAttrs = map[string][]attribute.KeyValue{
	http.MethodGet:  {semconv.HTTPRequestMethodKey.String(http.MethodGet)},
	http.MethodHead: {semconv.HTTPRequestMethodKey.String(http.MethodHead)},
}

// installed is the sampler Setup installed, which TraceRequest asks about
// reads; nil when no span is exported.
var installed sdktrace.Sampler

// TraceRequest decides, before any span exists, whether a read request (GET
// or HEAD) that comes without a traceparent is traced: most are not
// (ReadsSampled), and a read served outside any span costs nothing for
// tracing, where an unsampled span would still cost a fair part of a
// cheap read. It returns false for such a read the sampler declines (or
// when no span is exported); else true, with r marked so that the server
// span's sampler keeps the decision made here. Every other request is
// traced as the sampler decides on its server span.
func TraceRequest(r *http.Request) (*http.Request, bool) {
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || r.Header.Get("traceparent") != "" {
		return r, true
	}
	if installed == nil {
		return r, false
	}
	var id trace.TraceID
	binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(id[8:], rand.Uint64())
	p := sdktrace.SamplingParameters{ParentContext: r.Context(), TraceID: id, Kind: trace.SpanKindServer, Attributes: readAttrs[r.Method]}
	if installed.ShouldSample(p).Decision != sdktrace.RecordAndSample {
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), readChosenKey{}, true)), true
}

// readRequest reports a GET or HEAD request, by the attributes its server
// span starts with.
func readRequest(attrs []attribute.KeyValue) bool {
	for _, a := range attrs {
		if a.Key == semconv.HTTPRequestMethodKey {
			m := a.Value.AsString()
			return m == http.MethodGet || m == http.MethodHead
		}
	}
	return false
}

func (s entrySampler) Description() string {
	return "EntrySpans{writes:" + s.writes.Description() + ",reads:" + s.reads.Description() + "}"
}

// Setup installs the service's tracer provider and the W3C trace-context
// propagator as OpenTelemetry's globals. Spans leave in batches, from a
// bounded queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048 by default): when the
// backend is slow or gone, spans are dropped, and no request or event ever
// waits for it. The returned function flushes what is queued and stops.
func Setup(ctx context.Context, service string, cfg Config) (func(context.Context) error, error) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	if cfg.Exporter == ExporterNone {
		installed = nil
		return func(context.Context) error { return nil }, nil
	}
	exp, err := zipkin.New(cfg.Endpoint, zipkin.WithClient(&http.Client{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("zipkin exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName(service)), resource.WithFromEnv())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("tracing resource: %w", err), exp.Shutdown(ctx))
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(cfg.Sampler))
	otel.SetTracerProvider(tp)
	installed = cfg.Sampler
	return tp.Shutdown, nil
}

// Tracer is the project's tracer, from the global provider Setup installed.
func Tracer() trace.Tracer { return otel.Tracer("github.com/store-manager/store-manager") }

// End ends span, recording err as its error when there is one.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Extract is ctx continuing the trace a carrier (HTTP or Kafka headers) names.
func Extract(ctx context.Context, c propagation.TextMapCarrier) context.Context {
	return otel.GetTextMapPropagator().Extract(ctx, c)
}

// OutboxContext is ctx's span context as an outbox row stores it for
// Debezium's outbox router (its tracingspancontext column): the text of a
// java.util.Properties with the traceparent (and tracestate) lines. A span
// that is not sampled is stored too (its traceparent says so), so the
// saga's later steps follow the request's decision instead of starting
// traces of their own. It is empty outside any span: the router then adds
// no header.
func OutboxContext(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, c)
	var b strings.Builder
	for _, k := range []string{"traceparent", "tracestate"} {
		if v := c[k]; v != "" {
			b.WriteString(k + "=" + v + "\n")
		}
	}
	return b.String()
}

// TraceID is ctx's trace id in hex, or "" outside a sampled span.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

// routeKey holds, in a request's context, the name its server span takes.
type routeKey struct{}

// WithRoute prepares r for NameRoute: the router that finds r's route runs
// inside the span, and names it once it knows.
func WithRoute(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), routeKey{}, new(string)))
}

// NameRoute names the request's server span "METHOD route" (the route as
// its path template, never the path with its ids).
func NameRoute(ctx context.Context, method, route string) {
	if name, ok := ctx.Value(routeKey{}).(*string); ok {
		*name = method + " " + route
	}
	span := trace.SpanFromContext(ctx)
	span.SetName(method + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route))
}

// SpanName is a server span's name: the one NameRoute gave, else the method
// alone (a request that matched no route).
func SpanName(_ string, r *http.Request) string {
	if name, ok := r.Context().Value(routeKey{}).(*string); ok && *name != "" {
		return *name
	}
	return r.Method
}
