package outbox

import (
	"context"
	"log/slog"
	"time"
)

// PurgeBatch deletes up to limit outbox rows created before a time, and says how many it deleted.
type PurgeBatch func(ctx context.Context, before time.Time, limit int32) (int64, error)

// Janitor deletes outbox rows older than retention every interval, in
// batches, until ctx ends. Debezium reads the binlog, so a row is only
// needed until the connector has captured it; the retention keeps a margin
// for a relay that was down, and for operators who look at recent events.
func Janitor(ctx context.Context, log *slog.Logger, retention, interval time.Duration, purge PurgeBatch) error {
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
			n, err := purge(ctx, before, batch)
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
	}
}
