package consumer

import (
	"context"
	"strconv"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/store-manager/store-manager/services/platform/tracing"
)

// headers carries trace context in a Kafka message's headers: Debezium's
// outbox router writes a traceparent header for a row that stored one.
type headers []kafka.Header

func (h headers) Get(key string) string {
	for _, x := range h {
		if x.Key == key {
			return string(x.Value)
		}
	}
	return ""
}

// Set is not used: a consumer only reads the context a message carries.
func (h headers) Set(string, string) {}

func (h headers) Keys() []string {
	keys := make([]string, len(h))
	for i, x := range h {
		keys[i] = x.Key
	}
	return keys
}

// Span attributes of an event handled.
const (
	attrEventType    = attribute.Key("event.type")
	attrEventID      = attribute.Key("event.id")
	attrAggregateID  = attribute.Key("event.aggregate_id")
	attrOutcome      = attribute.Key("event.outcome")
	attrRetries      = attribute.Key("event.retries")
	attrDeadLettered = attribute.Key("event.dead_lettered")
)

// Outcomes of an event handled, as its span records them.
const (
	outcomeHandled      = "handled"
	outcomeDeadLettered = "dead_lettered"
	outcomeNoHandler    = "no_handler"
	outcomeStopped      = "stopped" // the service stopped first: the event is delivered again
	outcomeRolledBack   = "batch_rolled_back"
)

// startSpan starts the span of one event handled, continuing the trace its
// message names (a message without one starts a trace of its own).
// Everything its handler does (SQL, Redis, the events it writes) is a child.
func (r *Runner) startSpan(ctx context.Context, km *kafka.Message, m Message) (context.Context, trace.Span) {
	return tracing.Tracer().Start(tracing.Extract(ctx, headers(km.Headers)), "process "+m.Type,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingDestinationName(m.Topic),
			semconv.MessagingConsumerGroupName(r.cfg.GroupID),
			semconv.MessagingDestinationPartitionID(strconv.Itoa(int(m.Partition))),
			semconv.MessagingKafkaOffset(int(m.Offset)),
			attrEventType.String(m.Type), attrEventID.String(m.ID), attrAggregateID.String(m.Key),
		))
}

// endSpan records how handling the event ended.
func endSpan(span trace.Span, outcome string, err error) {
	span.SetAttributes(attrOutcome.String(outcome), attrDeadLettered.Bool(outcome == outcomeDeadLettered))
	tracing.End(span, err)
}

// attemptFailed records a failed attempt on the event's span.
func attemptFailed(ctx context.Context, attempt int, err error) {
	trace.SpanFromContext(ctx).AddEvent("attempt failed", trace.WithAttributes(
		attribute.Int("attempt", attempt), attribute.String("error", err.Error())))
}
