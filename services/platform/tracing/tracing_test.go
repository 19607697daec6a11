package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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
