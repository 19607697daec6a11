package store

import (
	"context"
	"database/sql"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/outbox"
)

// Queries are the store database's generated queries bound to a connection or
// a transaction, plus the outbox recorder that the transaction helper needs.
type Queries struct{ *storedb.Queries }

// RecordEvent writes e to the store database's outbox table.
func (q Queries) RecordEvent(ctx context.Context, e outbox.Event) error {
	return q.CreateOutboxEvent(ctx, storedb.CreateOutboxEventParams{
		ID: e.ID, Aggregatetype: e.AggregateType, Aggregateid: e.AggregateID, Type: e.Type, Payload: e.Payload,
	})
}

// MarkProcessed records that consumer applied eventID; false means it already had.
func (q Queries) MarkProcessed(ctx context.Context, consumer, eventID string) (bool, error) {
	n, err := q.CreateProcessedEvent(ctx, storedb.CreateProcessedEventParams{Consumer: consumer, EventID: eventID})
	return n == 1, err
}

// PurgeOutbox deletes up to limit outbox rows created before a time (an outbox.PurgeBatch).
func (q Queries) PurgeOutbox(ctx context.Context, before time.Time, limit int32) (int64, error) {
	return q.DeleteOutboxEventsBefore(ctx, storedb.DeleteOutboxEventsBeforeParams{Before: before, Limit: limit})
}

// Binder binds prepared store queries to transactions.
type Binder struct{ prepared *storedb.Queries }

// Prepare prepares every store query once on db.
func Prepare(ctx context.Context, db *sql.DB) (Binder, error) {
	q, err := storedb.Prepare(ctx, db)
	if err != nil {
		return Binder{}, err
	}
	return Binder{prepared: q}, nil
}

// Bind returns the prepared queries running inside tx.
func (b Binder) Bind(tx *sql.Tx) Queries { return Queries{b.prepared.WithTx(tx)} }

// Queries returns the prepared queries outside any transaction.
func (b Binder) Queries() Queries { return Queries{b.prepared} }

// Close releases the prepared statements.
func (b Binder) Close() error { return b.prepared.Close() }
