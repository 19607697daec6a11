// Package outbox defines the events that commands and saga handlers record in
// their database's outbox table, in the layout of Debezium's Outbox Event Router.
package outbox

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// Event is one row of an outbox table. ID is also the event id consumers
// deduplicate on; AggregateType routes the Kafka topic; AggregateID is the
// Kafka message key, so one aggregate's events stay in order.
type Event struct {
	ID            string
	AggregateType string
	AggregateID   string
	Type          string
	Payload       json.RawMessage
	// TraceContext is the trace context its message carries (as the
	// tracing package writes it); empty, the writing command's.
	TraceContext string
}

// New builds an event with a fresh id and payload marshalled to JSON.
func New(aggregateType, aggregateID, eventType string, payload any) (Event, error) {
	id, err := uuid.NewV7() // time-ordered ids keep the primary key index append-only
	if err != nil {
		return Event{}, fmt.Errorf("new event id: %w", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("marshal %s payload: %w", eventType, err)
	}
	return Event{
		ID:            id.String(),
		AggregateType: aggregateType,
		AggregateID:   aggregateID,
		Type:          eventType,
		Payload:       body,
	}, nil
}
