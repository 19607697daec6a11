package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkSagaToPaymentLink measures, through the gateway, the time from
// POST /orders to the order showing its payment link, one order at a time,
// and reports the median and the 99th percentile.
func BenchmarkSagaToPaymentLink(b *testing.B) {
	s := newSystem(b)
	user, product := s.user(b), s.product(b, "1.00", 1_000_000)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r, err := s.store.Try("POST", "/orders", map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": product, "quantity": 1}}})
		if err != nil || r.Status != 201 {
			b.Fatalf("create order: %v %d", err, r.Status)
		}
		id := r.Int("order_id")
		for {
			r, err := s.store.Try("GET", fmt.Sprintf("/orders/%d", id), nil)
			if err == nil && r.Field("payment_link") != nil {
				break
			}
			if time.Since(start) > 30*time.Second {
				b.Fatalf("order %d has no payment link after 30s", id)
			}
			time.Sleep(2 * time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
