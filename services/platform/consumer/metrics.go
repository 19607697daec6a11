package consumer

import (
	"context"
	"strconv"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The consumers' metrics, by consumer group and topic.
var (
	eventAge = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "consumer_event_age_seconds",
		Help:    "Time from an event's writing to its handling, by group, topic and event type: the saga's step latency, and the projector's lag.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"group", "topic", "type"})
	retries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "consumer_retries_total",
		Help: "Handler failures that were retried, by group and topic.",
	}, []string{"group", "topic"})
	deadLetters = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "consumer_dead_letters_total",
		Help: "Events whose handler gave up and that went to the dead-letter topic, by group and topic.",
	}, []string{"group", "topic"})
	batchSizes = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "consumer_batch_size",
		Help:    "Messages handled together in one batch (one transaction), by group.",
		Buckets: []float64{2, 4, 8, 16, 32, 64},
	}, []string{"group"})
	batchFallbacks = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "consumer_batch_fallbacks_total",
		Help: "Batches that failed as a whole and whose messages were handled again one by one, by group.",
	}, []string{"group"})
	lag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "consumer_lag",
		Help: "Messages between a group's committed offset and the partition's high watermark.",
	}, []string{"group", "topic", "partition"})
)

// measureLag sets the lag of every partition assigned to the runner, every
// interval, until ctx ends.
func (r *Runner) measureLag(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		parts, err := r.consumer.Assignment()
		if err != nil || len(parts) == 0 {
			continue
		}
		committed, err := r.consumer.Committed(parts, 2000)
		if err != nil {
			continue
		}
		for _, p := range committed {
			_, high, err := r.consumer.QueryWatermarkOffsets(*p.Topic, p.Partition, 2000)
			if err != nil {
				continue
			}
			at := int64(p.Offset)
			if p.Offset == kafka.OffsetInvalid || at < 0 {
				at = 0
			}
			lag.WithLabelValues(r.cfg.GroupID, *p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(max(high-at, 0)))
		}
	}
}
