package reconcile

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The gauges Watch keeps.
var (
	disagreements = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "reconcile_disagreements",
		Help: "Disagreements between the payments database and the store's, at the last comparison.",
	})
	lastCompared = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "reconcile_last_compared_timestamp_seconds",
		Help: "When the databases were last compared in full.",
	})
)

// Watch compares the two databases every interval until ctx ends, exports
// how many disagreements it found, and logs each of them. A comparison reads
// every order and payment, so it costs more as they grow: the next one
// waits at least busyShare's inverse times as long as the last took.
func Watch(ctx context.Context, log *slog.Logger, every time.Duration, compare func(context.Context) ([]Disagreement, error)) error {
	for {
		started := time.Now()
		found, err := compare(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("reconcile: could not compare", "err", err)
		case err == nil:
			disagreements.Set(float64(len(found)))
			lastCompared.SetToCurrentTime()
			for _, d := range found {
				log.Error("reconcile: payments and orders disagree", "order", d.OrderID, "payment", d.PaymentID, "what", d.What)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause(every, time.Since(started))):
		}
	}
}

// busyShare is the part of its time Watch spends comparing, at most.
const busyShare = 0.01

// pause is how long Watch waits after a comparison that took took: every,
// or longer when the comparison took more than busyShare of it.
func pause(every, took time.Duration) time.Duration {
	return max(every, time.Duration(float64(took)/busyShare)) - took
}
