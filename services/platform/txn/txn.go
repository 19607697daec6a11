// Package txn runs commands in one database transaction that commits the
// command's state change together with the outbox events announcing it and,
// for an event handler, the record that the event was processed (the inbox).
// The outbox and inbox statements are the platform's, written once
// (queries/outbox) and prepared once per database: a service brings only its
// own queries.
package txn

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	outboxdb "github.com/store-manager/store-manager/db/outbox"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/tracing"
)

// Prepared is a service's sqlc queries, prepared on a database: they can be
// bound to a transaction and closed.
type Prepared[Q any] interface {
	WithTx(tx *sql.Tx) Q
	Close() error
}

// DB is a service's database with its prepared queries Q and the
// platform's prepared outbox and inbox statements.
type DB[Q Prepared[Q]] struct {
	db      *sql.DB
	queries Q
	box     *outboxdb.Queries
}

// Prepare prepares a service's queries (with its sqlc package's Prepare)
// and the outbox and inbox statements on db.
func Prepare[Q Prepared[Q]](ctx context.Context, db *sql.DB, prepare func(context.Context, *sql.DB) (Q, error)) (*DB[Q], error) {
	q, err := prepare(ctx, db)
	if err != nil {
		return nil, err
	}
	box, err := outboxdb.Prepare(ctx, db)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("prepare outbox statements: %w", err), q.Close())
	}
	return &DB[Q]{db: db, queries: q, box: box}, nil
}

// Queries returns the prepared queries outside any transaction.
func (d *DB[Q]) Queries() Q { return d.queries }

// Close releases the prepared statements.
func (d *DB[Q]) Close() error { return errors.Join(d.queries.Close(), d.box.Close()) }

// Exec runs fn in one transaction with the queries bound to it, writes the
// events fn returns to the outbox in that same transaction, and commits. If
// fn fails, or writing an event fails, nothing is committed. It returns the
// commit's error, so a caller never reports success for a lost write.
func (d *DB[Q]) Exec(ctx context.Context, fn func(q Q) ([]outbox.Event, error)) error {
	return d.exec(ctx, nil, fn)
}

// ExecOnce is Exec for an event handler: in the same transaction it records
// eventID as processed by consumer, and when that was done before it skips
// fn, so a redelivered event has a single effect. In a batch the record is
// written with the batch's others when it commits, and an event found
// processed before fails the batch (ErrProcessedBefore): its caller runs
// the events again one by one, where this one is skipped.
func (d *DB[Q]) ExecOnce(ctx context.Context, consumer, eventID string, fn func(q Q) ([]outbox.Event, error)) error {
	return d.exec(ctx, &inboxRow{consumer: consumer, eventID: eventID}, fn)
}

// ErrProcessedBefore fails a batch holding an event its consumer had
// processed before: which one is known only once each runs alone.
var ErrProcessedBefore = errors.New("the batch holds an event processed before")

// inboxRow is the record that a consumer processed an event.
type inboxRow struct{ consumer, eventID string }

// outboxRow is an outbox event and the trace context of the command that wrote it.
type outboxRow struct {
	event       outbox.Event
	spanContext sql.NullString
}

// batchKey marks a context whose commands join the batch transaction of one DB.
type batchKey struct{ db *sql.DB }

// batch is a batch transaction and the first error of a command in it: a
// command that fails cannot be undone alone, so the whole batch fails even
// when the caller handles the error.
type batch struct {
	tx     *sql.Tx
	err    error
	inbox  []inboxRow  // written together when the batch commits
	outbox []outboxRow // likewise, in the order the commands wrote them
}

// Batch runs fn in one transaction: every Exec and ExecOnce on this DB with
// fn's context joins it instead of committing on its own, and the
// transaction commits once fn returns nil (one commit, one fsync, for all).
// The commands' inbox records and outbox events are written last, each
// kind in one statement.
// If fn, any command in it, or the commit fails, nothing of the batch took
// effect, and Batch returns the error. A batch the database chose as a
// deadlock's victim (it rolled the batch back so that another transaction
// could go on) runs again, up to batchAttempts times in all: that is how a
// deadlock is resolved, and it says nothing of the batch's commands.
func (d *DB[Q]) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := d.batchOnce(ctx, fn)
		if err == nil || attempt == batchAttempts || !MySQLError(err, Deadlock) || ctx.Err() != nil {
			return err
		}
		deadlockRetries.Inc()
	}
}

// batchAttempts bounds the runs of a batch that keeps losing deadlocks.
const batchAttempts = 3

// deadlockRetries counts the batches run again after a deadlock.
var deadlockRetries = promauto.NewCounter(prometheus.CounterOpts{
	Name: "txn_batch_deadlock_retries_total",
	Help: "Batch transactions the database rolled back as a deadlock's victim and that ran again.",
})

func (d *DB[Q]) batchOnce(ctx context.Context, fn func(ctx context.Context) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin batch: %w", err)
	}
	b := &batch{tx: tx}
	if err := errors.Join(fn(context.WithValue(ctx, batchKey{d.db}, b)), b.err); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := flush(ctx, tx, b.inbox, b.outbox); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	return nil
}

func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// exec runs fn in one transaction, or in the batch transaction ctx carries,
// recording in first the event it handles (when it handles one), then
// writes fn's events. In a trace, it is one span: the transaction, or the
// command's part of a batch.
func (d *DB[Q]) exec(ctx context.Context, first *inboxRow, fn func(q Q) ([]outbox.Event, error)) (err error) {
	b, batched := ctx.Value(batchKey{d.db}).(*batch)
	name := "SQL transaction"
	if batched {
		name = "SQL in a batch transaction"
	}
	_, span := tracing.Tracer().Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(semconv.DBSystemNameMySQL))
	var res result
	defer func() { res.end(span, err) }()
	if batched { // the batch writes the records and events, and commits or rolls back
		if b.err == nil {
			var events []outboxRow
			res, events, b.err = d.run(ctx, b.tx, nil, fn)
			if b.err == nil && first != nil {
				b.inbox = append(b.inbox, *first)
			}
			b.outbox = append(b.outbox, events...)
		}
		return b.err
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	res, events, err := d.run(ctx, tx, first, fn)
	if err == nil {
		err = flush(ctx, tx, nil, events)
	}
	if err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// result is what a command's run did, for its span.
type result struct {
	skipped bool // an event handled before: nothing ran
	events  int  // outbox events written
}

// end records res and err on a command's span, and ends it.
func (res result) end(span trace.Span, err error) {
	span.SetAttributes(attribute.Bool("txn.skipped_duplicate", res.skipped), attribute.Int("txn.events", res.events))
	tracing.End(span, err)
}

// run is a command's work in tx: when first is set, it records the event
// as processed and skips fn if that was done before; then fn runs, and its
// events are returned with the command's trace context, for flush.
func (d *DB[Q]) run(ctx context.Context, tx *sql.Tx, first *inboxRow, fn func(q Q) ([]outbox.Event, error)) (result, []outboxRow, error) {
	if first != nil {
		n, err := d.box.WithTx(tx).CreateProcessedEvent(ctx, outboxdb.CreateProcessedEventParams{Consumer: first.consumer, EventID: first.eventID})
		if err != nil {
			return result{}, nil, fmt.Errorf("record event %s: %w", first.eventID, err)
		}
		if n == 0 {
			return result{skipped: true}, nil, nil
		}
	}
	events, err := fn(d.queries.WithTx(tx))
	if err != nil {
		return result{}, nil, err
	}
	// The router gives each event's message the writer's trace context, so
	// its handlers continue this trace.
	command := tracing.OutboxContext(ctx)
	rows := make([]outboxRow, len(events))
	for i, e := range events {
		sc := cmp.Or(e.TraceContext, command)
		rows[i] = outboxRow{event: e, spanContext: sql.NullString{String: sc, Valid: sc != ""}}
	}
	return result{events: len(events)}, rows, nil
}

// PurgeOutbox deletes up to limit outbox rows created before a time (an
// outbox.PurgeBatch): Debezium reads the binlog, not the table.
func (d *DB[Q]) PurgeOutbox(ctx context.Context, before time.Time, limit int32) (int64, error) {
	return d.box.DeleteOutboxEventsBefore(ctx, outboxdb.DeleteOutboxEventsBeforeParams{Before: before, Limit: limit})
}

// CountOutbox counts the outbox rows created before a time.
func (d *DB[Q]) CountOutbox(ctx context.Context, before time.Time) (int64, error) {
	return d.box.CountOutboxEventsBefore(ctx, before)
}

// PurgeInbox deletes up to limit processed_events rows recorded before a
// time: an event older than its topic's retention is never delivered again.
func (d *DB[Q]) PurgeInbox(ctx context.Context, before time.Time, limit int32) (int64, error) {
	return d.box.DeleteProcessedEventsBefore(ctx, outboxdb.DeleteProcessedEventsBeforeParams{Before: before, Limit: limit})
}

// CountInbox counts the processed_events rows recorded before a time.
func (d *DB[Q]) CountInbox(ctx context.Context, before time.Time) (int64, error) {
	return d.box.CountProcessedEventsBefore(ctx, before)
}
