package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Purger deletes and counts a database's outbox and inbox (processed_events) rows.
type Purger interface {
	// PurgeOutbox deletes up to limit outbox rows created before a time, and says how many it deleted.
	PurgeOutbox(ctx context.Context, before time.Time, limit int32) (int64, error)
	// CountOutbox counts the outbox rows created before a time.
	CountOutbox(ctx context.Context, before time.Time) (int64, error)
	// PurgeInbox deletes up to limit inbox rows recorded before a time, and says how many it deleted.
	PurgeInbox(ctx context.Context, before time.Time, limit int32) (int64, error)
	// CountInbox counts the inbox rows recorded before a time.
	CountInbox(ctx context.Context, before time.Time) (int64, error)
}

// awaitingPurge is what the last purge of each table left of the rows it should remove.
var awaitingPurge = map[string]prometheus.Gauge{
	"outbox": promauto.NewGauge(prometheus.GaugeOpts{
		Name: "outbox_rows_awaiting_purge",
		Help: "Outbox rows older than the retention that the last purge left behind.",
	}),
	"inbox": promauto.NewGauge(prometheus.GaugeOpts{
		Name: "inbox_rows_awaiting_purge",
		Help: "processed_events rows older than the retention that the last purge left behind.",
	}),
}

// Retention says how long each table keeps its rows.
type Retention struct {
	// Outbox: Debezium reads the binlog, so a row is only needed until the
	// connector has captured it; keep at least the binlog's retention, so a
	// connector that lost its binlog position can still find every row.
	Outbox time.Duration
	// Inbox: a record of an applied event is only needed while the event can
	// be delivered again, that is the topics' retention and a margin.
	Inbox time.Duration
}

// table is one table the janitor keeps short.
type table struct {
	name      string
	retention time.Duration
	purge     func(ctx context.Context, before time.Time, limit int32) (int64, error)
	count     func(ctx context.Context, before time.Time) (int64, error)
}

// Janitor deletes outbox and inbox rows older than their retention every
// interval, in batches, until ctx ends, and reports what it left behind. Every
// replica may run it: each batch is one short DELETE, and two replicas
// deleting the same rows only find fewer of them.
func Janitor(ctx context.Context, log *slog.Logger, keep Retention, interval time.Duration, box Purger) error {
	tables := []table{
		{"outbox", keep.Outbox, box.PurgeOutbox, box.CountOutbox},
		{"inbox", keep.Inbox, box.PurgeInbox, box.CountInbox},
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if ctx.Err() != nil { // both were ready and select chose the tick: an ended context wins
			return nil
		}
		for _, tb := range tables {
			tb.sweep(ctx, log)
		}
	}
}

// sweep purges the table's old rows in batches until a batch comes back short.
func (tb table) sweep(ctx context.Context, log *slog.Logger) {
	const batch = 1000
	before := time.Now().Add(-tb.retention)
	total := int64(0)
	for {
		n, err := tb.purge(ctx, before, batch)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("purge", "table", tb.name, "err", err)
			}
			break
		}
		total += n
		if n < batch {
			break
		}
	}
	if total > 0 {
		log.Info("purged", "table", tb.name, "rows", total, "before", before)
	}
	if left, err := tb.count(ctx, before); err == nil {
		awaitingPurge[tb.name].Set(float64(left))
	}
}
