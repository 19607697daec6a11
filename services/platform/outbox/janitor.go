package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Purger deletes and counts a database's outbox rows.
type Purger interface {
	// PurgeOutbox deletes up to limit rows created before a time, and says how many it deleted.
	PurgeOutbox(ctx context.Context, before time.Time, limit int32) (int64, error)
	// CountOutbox counts the rows created before a time.
	CountOutbox(ctx context.Context, before time.Time) (int64, error)
}

// awaitingPurge is what the last purge left of the rows it should remove.
var awaitingPurge = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "outbox_rows_awaiting_purge",
	Help: "Outbox rows older than the retention that the last purge left behind.",
})

// Janitor deletes outbox rows older than retention every interval, in
// batches, until ctx ends, and reports what it left behind. Debezium reads
// the binlog, so a row is only needed until the connector has captured it;
// the retention keeps a margin for a relay that was down, and for operators
// who look at recent events.
func Janitor(ctx context.Context, log *slog.Logger, retention, interval time.Duration, box Purger) error {
	const batch = 1000
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		before := time.Now().Add(-retention)
		total := int64(0)
		for {
			n, err := box.PurgeOutbox(ctx, before, batch)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("outbox purge", "err", err)
				}
				break
			}
			total += n
			if n < batch {
				break
			}
		}
		if total > 0 {
			log.Info("outbox purged", "rows", total, "before", before)
		}
		if left, err := box.CountOutbox(ctx, before); err == nil {
			awaitingPurge.Set(float64(left))
		}
	}
}
