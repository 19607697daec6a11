package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/tracing"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// Each event handled is a consumer span that continues the trace its
// message's traceparent names, or starts one when it names none; the
// handler works inside it; a retried event records each failed attempt,
// and one that is dead-lettered says so.
func TestRunnerTracesEachEvent(t *testing.T) {
	st := stacktest.Stack(t)
	sampler, err := tracing.ParseSampler("parentbased_always_on", "")
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sampler)))
	otel.SetTextMapPropagator(propagation.TraceContext{})

	topic := "tracetest_" + stacktest.Suffix()
	if err := consumer.EnsureTopics(context.Background(), st.KafkaBrokers, []string{topic}, 1); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	inside := map[string]trace.SpanContext{} // event id -> the span its handler ran in
	seen := func(ctx context.Context, m consumer.Message) {
		mu.Lock()
		defer mu.Unlock()
		inside[m.ID] = trace.SpanContextFromContext(ctx)
	}
	reg := consumer.NewRegistry()
	consumer.Handle(reg, "Fine", func(ctx context.Context, m consumer.Message, _ json.RawMessage) error { seen(ctx, m); return nil })
	consumer.Handle(reg, "Broken", func(ctx context.Context, m consumer.Message, _ json.RawMessage) error {
		seen(ctx, m)
		return errors.New("always broken")
	})

	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	produce(t, st.KafkaBrokers, topic, "traced", "Fine", kafka.Header{Key: "traceparent", Value: []byte(parent)})
	produce(t, st.KafkaBrokers, topic, "untraced", "Fine")
	produce(t, st.KafkaBrokers, topic, "broken", "Broken")
	stop := run(t, st.KafkaBrokers, "tracetest-"+stacktest.Suffix(), topic, reg, nil, nil)
	spanOf := func(id string) sdktrace.ReadOnlySpan {
		for _, s := range rec.Ended() {
			for _, a := range s.Attributes() {
				if a.Key == "event.id" && a.Value.AsString() == id {
					return s
				}
			}
		}
		return nil
	}
	stacktest.Eventually(t, 30*time.Second, "three events' spans ended", func() bool {
		return spanOf("traced") != nil && spanOf("untraced") != nil && spanOf("broken") != nil
	})
	stop()

	attrs := func(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
		out := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			out[a.Key] = a.Value
		}
		return out
	}
	mu.Lock()
	defer mu.Unlock()

	traced := spanOf("traced")
	if traced.SpanKind() != trace.SpanKindConsumer || traced.Name() != "process Fine" ||
		traced.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || traced.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("the traced event's span: %s %s trace %s parent %s", traced.SpanKind(), traced.Name(), traced.SpanContext().TraceID(), traced.Parent().SpanID())
	}
	if !inside["traced"].Equal(traced.SpanContext()) {
		t.Error("the handler did not run inside its event's span")
	}
	if a := attrs(traced); a["event.outcome"].AsString() != "handled" || a["messaging.destination.name"].AsString() != topic {
		t.Errorf("the traced event's span attributes: %v", a)
	}

	untraced := spanOf("untraced")
	if untraced.Parent().IsValid() || !untraced.SpanContext().IsSampled() || !inside["untraced"].Equal(untraced.SpanContext()) {
		t.Errorf("an event without context: parent %v, sampled %v: want a trace of its own", untraced.Parent(), untraced.SpanContext().IsSampled())
	}

	broken := spanOf("broken")
	a := attrs(broken)
	failed := 0
	for _, e := range broken.Events() {
		if e.Name == "attempt failed" {
			failed++
		}
	}
	if failed != 3 || a["event.retries"].AsInt64() != 2 || !a["event.dead_lettered"].AsBool() ||
		a["event.outcome"].AsString() != "dead_lettered" || broken.Status().Code != codes.Error {
		t.Errorf("the dead-lettered event's span: %d failed attempts, attributes %v, status %v", failed, a, broken.Status())
	}
}
