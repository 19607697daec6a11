package txn

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// The two statements a transaction ends with, written here rather than in
// queries/: sqlc compiles a fixed number of rows per statement, and these
// take as many as the transaction wrote. Their columns are those of
// queries/outbox's tables.
const (
	insertInbox  = "INSERT IGNORE INTO processed_events (consumer, event_id) VALUES "
	insertOutbox = "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tracingspancontext) VALUES "
)

// flush writes a transaction's inbox records and outbox events, each kind
// in one statement. A record that was there already means an event of the
// batch was processed before: the batch must not commit (ErrProcessedBefore).
func flush(ctx context.Context, tx *sql.Tx, inbox []inboxRow, events []outboxRow) error {
	if len(inbox) > 0 {
		args := make([]any, 0, 2*len(inbox))
		for _, r := range inbox {
			args = append(args, r.consumer, r.eventID)
		}
		res, err := InsertRows(ctx, tx, insertInbox, 2, args)
		var n int64
		if err == nil {
			n, err = res.RowsAffected()
		}
		if err != nil {
			return fmt.Errorf("record %d events: %w", len(inbox), err)
		}
		if n != int64(len(inbox)) {
			return ErrProcessedBefore
		}
	}
	if len(events) > 0 {
		args := make([]any, 0, 6*len(events))
		for _, r := range events {
			e := r.event
			args = append(args, e.ID, e.AggregateType, e.AggregateID, e.Type, e.Payload, r.spanContext)
		}
		if _, err := InsertRows(ctx, tx, insertOutbox, 6, args); err != nil {
			return fmt.Errorf("record %d outbox events: %w", len(events), err)
		}
	}
	return nil
}

// Execer runs a statement: a database, or a transaction.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// InsertRows runs head (an INSERT up to its VALUES) followed by one
// placeholder tuple of width columns per row of args: a statement of as many rows as a command has, which sqlc
// cannot compile. args holds the rows' values one row after another.
func InsertRows(ctx context.Context, db Execer, head string, width int, args []any) (sql.Result, error) {
	tuple := "(" + strings.Repeat("?, ", width-1) + "?)"
	var b strings.Builder
	b.WriteString(head)
	for i := range len(args) / width {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple)
	}
	return db.ExecContext(ctx, b.String(), args...)
}
