package outbox_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// BenchmarkCommitToKafka measures the time from an outbox row's commit to its
// message reaching a consumer through Debezium, one event at a time, and
// reports the median and the 99th percentile.
func BenchmarkCommitToKafka(b *testing.B) {
	st := stacktest.Stack(b)
	db, prefix := stacktest.CapturedDatabase(b, "store")
	ctx := context.Background()
	binder, err := store.Prepare(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	defer binder.Close()
	topic := "benchcdc_" + stacktest.Suffix()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": st.KafkaBrokers, "group.id": "bench-" + stacktest.Suffix(),
		"auto.offset.reset": "earliest", "topic.metadata.refresh.interval.ms": 250, "fetch.wait.max.ms": 5,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(prefix+topic, nil); err != nil {
		b.Fatal(err)
	}
	send := func() (string, time.Time) {
		e, err := outbox.New(topic, "k", "Bench", map[string]int{"n": 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := binder.Exec(ctx, func(store.Queries) ([]outbox.Event, error) { return []outbox.Event{e}, nil }); err != nil {
			b.Fatal(err)
		}
		return e.ID, time.Now()
	}
	wait := func(id string) {
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			m, err := c.ReadMessage(100 * time.Millisecond)
			if err == nil && header(m, "id") == id {
				return
			}
		}
		b.Fatalf("event %s never arrived", id)
	}
	wait(func() string { id, _ := send(); return id }()) // the topic exists and the consumer is assigned

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id, at := send()
		wait(id)
		lat = append(lat, time.Since(at))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
