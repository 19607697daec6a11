package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/trace"

	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/tracing"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// Each event handled is a consumer span, in the trace backend: it continues
// the trace its message's traceparent names, or starts one when it names
// none; the handler works inside it; an event retried and then
// dead-lettered shows each failed attempt and says it was dead-lettered.
func TestRunnerTracesEachEvent(t *testing.T) {
	st, inst := stacktest.Stack(t), stacktest.Instance(t)
	service := "consumer-test-" + stacktest.Suffix()
	stopTracing, err := tracing.Setup(context.Background(), service, tracing.Config{
		Exporter: tracing.ExporterZipkin, Endpoint: inst.ZipkinSpansURL(), Sampler: tracing.DefaultSampler(),
	})
	if err != nil {
		t.Fatal(err)
	}

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

	traceID, parentSpan := "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	traced, untraced, broken := "traced-"+stacktest.Suffix(), "untraced-"+stacktest.Suffix(), "broken-"+stacktest.Suffix()
	produce(t, st.KafkaBrokers, topic, traced, "Fine", kafka.Header{Key: "traceparent", Value: []byte("00-" + traceID + "-" + parentSpan + "-01")})
	produce(t, st.KafkaBrokers, topic, untraced, "Fine")
	produce(t, st.KafkaBrokers, topic, broken, "Broken")
	// One partition: the event after the broken one is handled once the broken
	// one is done with, its span ended.
	produce(t, st.KafkaBrokers, topic, "after-"+stacktest.Suffix(), "Fine")
	stop := run(t, st.KafkaBrokers, "tracetest-"+stacktest.Suffix(), topic, reg, nil, nil)
	stacktest.Eventually(t, 30*time.Second, "four events handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(inside) == 4
	})
	stop()
	flush, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stopTracing(flush); err != nil { // sends what is queued
		t.Fatal(err)
	}

	spans := map[string]stacktest.ZipkinSpan{}
	stacktest.Eventually(t, 30*time.Second, "the three spans in Zipkin", func() bool {
		for _, id := range []string{traced, untraced, broken} {
			if sp, ok := stacktest.ZipkinEventSpan(t, inst.ZipkinURL(), service, id); ok {
				spans[id] = sp
			}
		}
		return len(spans) == 3
	})
	mu.Lock()
	defer mu.Unlock()

	if sp := spans[traced]; sp.Kind != "CONSUMER" || sp.Name != "process fine" || sp.TraceID != traceID || sp.ParentID != parentSpan ||
		sp.Tags["event.outcome"] != "handled" || sp.Tags["messaging.destination.name"] != topic {
		t.Errorf("the traced event's span: %+v", sp)
	}
	if sc := inside[traced]; sc.TraceID().String() != traceID || sc.SpanID().String() != spans[traced].ID {
		t.Errorf("the handler did not run inside its event's span: %s/%s", sc.TraceID(), sc.SpanID())
	}
	if sp := spans[untraced]; sp.ParentID != "" || sp.TraceID == traceID || inside[untraced].SpanID().String() != sp.ID {
		t.Errorf("an event without context: %+v, want a trace of its own", sp)
	}
	sp := spans[broken]
	failed := 0
	for _, a := range sp.Annotations {
		if strings.HasPrefix(a.Value, "attempt failed") {
			failed++
		}
	}
	if failed != 3 || sp.Tags["event.retries"] != "2" || sp.Tags["event.dead_lettered"] != "true" ||
		sp.Tags["event.outcome"] != "dead_lettered" || sp.Tags["error"] == "" {
		t.Errorf("the dead-lettered event's span: %d failed attempts, tags %v", failed, sp.Tags)
	}
}
