package sagareport

import (
	"reflect"
	"testing"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
)

// Each step's latency is the time from the step before it, the whole saga
// comes last, and orders do not leak into each other.
func TestLatencies(t *testing.T) {
	at := func(ms int) time.Time { return time.Unix(0, 0).Add(time.Duration(ms) * time.Millisecond) }
	steps := []storedb.ListStepsSinceRow{
		{OrderID: 1, Event: events.OrderCreated, CreatedAt: at(0)},
		{OrderID: 1, Event: events.StockDecreased, CreatedAt: at(10)},
		{OrderID: 1, Event: events.SagaCompleted, CreatedAt: at(40)},
		{OrderID: 2, Event: events.OrderCreated, CreatedAt: at(1000)},
		{OrderID: 2, Event: events.StockDecreased, CreatedAt: at(1020)},
	}
	got := latencies(steps)
	want := []StepLatency{
		{Step: events.StockDecreased, Count: 2, P50: 20 * time.Millisecond, P95: 20 * time.Millisecond, P99: 20 * time.Millisecond},
		{Step: events.SagaCompleted, Count: 1, P50: 30 * time.Millisecond, P95: 30 * time.Millisecond, P99: 30 * time.Millisecond},
		{Step: EndToEnd, Count: 1, P50: 40 * time.Millisecond, P95: 40 * time.Millisecond, P99: 40 * time.Millisecond},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("latencies = %+v\nwant %+v", got, want)
	}
}
