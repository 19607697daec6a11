package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

func TestParseSampler(t *testing.T) {
	tests := []struct {
		name, arg string
		wantErr   bool
		// what a new server span, a new client span, and a client span under a sampled parent get
		server, client, child bool
	}{
		{name: "parentbased_always_on", server: true, client: false, child: true},
		{name: "always_on", server: true, client: false, child: true},
		{name: "always_off", server: false, client: false, child: true},
		{name: "traceidratio", arg: "1", server: true, client: false, child: true},
		{name: "parentbased_traceidratio", arg: "0", server: false, client: false, child: true},
		{name: "traceidratio", arg: "2", wantErr: true},
		{name: "traceidratio", arg: "half", wantErr: true},
		{name: "jaeger_remote", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.arg, func(t *testing.T) {
			s, err := ParseSampler(tt.name, tt.arg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s))
			tr := tp.Tracer("test")
			_, server := tr.Start(context.Background(), "s", trace.WithSpanKind(trace.SpanKindServer))
			_, client := tr.Start(context.Background(), "c", trace.WithSpanKind(trace.SpanKindClient))
			parent := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: [16]byte{1}, SpanID: [8]byte{1}, TraceFlags: trace.FlagsSampled, Remote: true,
			}))
			_, child := tr.Start(parent, "child", trace.WithSpanKind(trace.SpanKindClient))
			got := [3]bool{server.SpanContext().IsSampled(), client.SpanContext().IsSampled(), child.SpanContext().IsSampled()}
			if want := [3]bool{tt.server, tt.client, tt.child}; got != want {
				t.Errorf("sampled (server, client, child) = %v, want %v", got, want)
			}
		})
	}
}

// By default every write request and every event without a trace starts
// one, and reads do at ReadsSampled: a GET whose trace id falls under the
// ratio is traced, one above it is not. Background work never starts one.
func TestDefaultSampler(t *testing.T) {
	s, err := ParseSampler("", "")
	if err != nil {
		t.Fatal(err)
	}
	low, high := trace.TraceID{}, trace.TraceID{8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}
	get := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String("GET")}
	post := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String("POST")}
	tests := []struct {
		name  string
		kind  trace.SpanKind
		id    trace.TraceID
		attrs []attribute.KeyValue
		want  bool
	}{
		{"a write", trace.SpanKindServer, high, post, true},
		{"an event", trace.SpanKindConsumer, high, nil, true},
		{"a read under the ratio", trace.SpanKindServer, low, get, true},
		{"a read over the ratio", trace.SpanKindServer, high, get, false},
		{"background SQL", trace.SpanKindClient, low, nil, false},
	}
	for _, tt := range tests {
		r := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tt.id, Kind: tt.kind, Attributes: tt.attrs})
		if got := r.Decision == sdktrace.RecordAndSample; got != tt.want {
			t.Errorf("%s: sampled %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Writes start traces up to WritesTracedPerSecond a second: a burst of
// three times that many, at once, is not traced whole.
func TestDefaultSamplerBoundsWrites(t *testing.T) {
	s := DefaultSampler()
	post := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String("POST")}
	traced := 0
	for range 3 * WritesTracedPerSecond {
		r := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), Kind: trace.SpanKindServer, Attributes: post})
		if r.Decision == sdktrace.RecordAndSample {
			traced++
		}
	}
	if traced < WritesTracedPerSecond || traced >= 3*WritesTracedPerSecond {
		t.Errorf("%d of %d writes at once traced, want from %d to fewer than all", traced, 3*WritesTracedPerSecond, WritesTracedPerSecond)
	}
}

func TestOutboxContextAndLogs(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	if _, err := Setup(context.Background(), "test", Config{Exporter: ExporterNone}); err != nil {
		t.Fatal(err)
	}
	ctx, span := tp.Tracer("test").Start(context.Background(), "write", trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	sc := span.SpanContext()

	got := OutboxContext(ctx)
	want := "traceparent=00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01\n"
	if got != want {
		t.Errorf("OutboxContext = %q, want %q", got, want)
	}
	if OutboxContext(context.Background()) != "" || TraceID(context.Background()) != "" {
		t.Error("outside a span there is no context to store")
	}
	// A span not sampled is stored with its decision, which the saga's next steps follow.
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	uctx, uspan := unsampled.Tracer("test").Start(context.Background(), "write")
	defer uspan.End()
	usc := uspan.SpanContext()
	if got, want := OutboxContext(uctx), "traceparent=00-"+usc.TraceID().String()+"-"+usc.SpanID().String()+"-00\n"; got != want {
		t.Errorf("OutboxContext of a span not sampled = %q, want %q", got, want)
	}
	if TraceID(uctx) != "" {
		t.Error("a span not sampled has no trace to link to")
	}
	if TraceID(ctx) != sc.TraceID().String() {
		t.Errorf("TraceID = %q", TraceID(ctx))
	}

	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("service", "test")
	log.InfoContext(ctx, "inside")
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var inside, outside map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &inside); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &outside); err != nil {
		t.Fatal(err)
	}
	if inside["trace_id"] != sc.TraceID().String() || inside["span_id"] != sc.SpanID().String() || inside["service"] != "test" {
		t.Errorf("a line inside a span = %v", inside)
	}
	if _, ok := outside["trace_id"]; ok {
		t.Errorf("a line outside a span = %v", outside)
	}
}

// A read that comes without a trace is left out before any span exists when
// the installed sampler declines it; a read it keeps is marked, and its
// server span is then sampled without a second draw. Other requests, and a
// read that continues a trace, are always handed to the server span.
func TestTraceRequest(t *testing.T) {
	defer func(s sdktrace.Sampler) { installed = s }(installed)
	never, err := ParseSampler("always_off", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		sampler     sdktrace.Sampler
		method      string
		traceparent string
		want        bool
	}{
		{"a read, nothing exported", nil, "GET", "", false},
		{"a read the sampler declines", never, "GET", "", false},
		{"a HEAD the sampler declines", never, "HEAD", "", false},
		{"a read the sampler keeps", sdktrace.ParentBased(entrySampler{writes: sdktrace.AlwaysSample(), reads: sdktrace.AlwaysSample()}), "GET", "", true},
		{"a write", never, "POST", "", true},
		{"a read in the caller's trace", never, "GET", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			installed = tt.sampler
			r := httptest.NewRequest(tt.method, "/stocks/1", nil)
			if tt.traceparent != "" {
				r.Header.Set("traceparent", tt.traceparent)
			}
			r2, got := TraceRequest(r)
			if got != tt.want {
				t.Fatalf("traced %v, want %v", got, tt.want)
			}
			chosen, _ := r2.Context().Value(readChosenKey{}).(bool)
			if wantMark := tt.want && tt.traceparent == "" && (tt.method == "GET" || tt.method == "HEAD"); chosen != wantMark {
				t.Errorf("marked %v, want %v", chosen, wantMark)
			}
		})
	}
	// A marked read is sampled by DefaultSampler whatever its trace id.
	marked := context.WithValue(context.Background(), readChosenKey{}, true)
	high := trace.TraceID{8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff}
	res := DefaultSampler().ShouldSample(sdktrace.SamplingParameters{ParentContext: marked, TraceID: high, Kind: trace.SpanKindServer,
		Attributes: []attribute.KeyValue{semconv.HTTPRequestMethodKey.String("GET")}})
	if res.Decision != sdktrace.RecordAndSample {
		t.Errorf("a read TraceRequest chose was not sampled: %v", res.Decision)
	}
}
