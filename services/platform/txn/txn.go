// Package txn runs a command in one database transaction that commits the
// command's state change together with the outbox events announcing it.
package txn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/store-manager/store-manager/services/platform/outbox"
)

// Recorder is what a transaction's queries need to write an outbox row.
type Recorder interface {
	RecordEvent(ctx context.Context, e outbox.Event) error
}

// Exec runs fn in one transaction on db with queries bound to it, writes the
// events fn returns to the outbox in that same transaction, and commits. If
// fn fails, or writing an event fails, nothing is committed. It returns the
// commit's error, so a caller never reports success for a lost write.
func Exec[Q Recorder](ctx context.Context, db *sql.DB, bind func(*sql.Tx) Q, fn func(q Q) ([]outbox.Event, error)) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	q := bind(tx)
	events, err := fn(q)
	if err != nil {
		return err
	}
	for _, e := range events {
		if err := q.RecordEvent(ctx, e); err != nil {
			return fmt.Errorf("record %s event: %w", e.Type, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Deduper is what a handler's queries need to record the events it applied.
type Deduper interface {
	Recorder
	// MarkProcessed records that consumer applied eventID; false means it already had.
	MarkProcessed(ctx context.Context, consumer, eventID string) (bool, error)
}

// ExecOnce is Exec for an event handler: in the same transaction it records
// eventID as processed by consumer, and when that was done before it skips fn,
// so a redelivered event has a single effect.
func ExecOnce[Q Deduper](ctx context.Context, db *sql.DB, bind func(*sql.Tx) Q, consumer, eventID string, fn func(q Q) ([]outbox.Event, error)) error {
	return Exec(ctx, db, bind, func(q Q) ([]outbox.Event, error) {
		first, err := q.MarkProcessed(ctx, consumer, eventID)
		if err != nil {
			return nil, fmt.Errorf("record event %s: %w", eventID, err)
		}
		if !first {
			return nil, nil
		}
		return fn(q)
	})
}
