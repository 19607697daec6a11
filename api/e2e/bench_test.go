package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/stacktest"
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

// BenchmarkSagaThroughput places b.N orders from 16 clients straight at
// store-manager (one client address would hit the gateway's per-client
// limit) and reports completed sagas per second, from the first request to
// the last order's completion.
func BenchmarkSagaThroughput(b *testing.B) {
	s := newSystem(b)
	s.store = stacktest.NewClient(config.Env("STORE_URL", "http://127.0.0.1:5000"))
	user, product := s.user(b), s.product(b, "1.00", 1_000_000_000)
	db := stacktest.Open(b, config.Load().StoreDSN)
	body := map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": product, "quantity": 1}}}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if r, err := s.store.Try("POST", "/orders", body); err != nil || r.Status != 201 {
					b.Errorf("create order: %v %d", err, r.Status)
					return
				}
			}
		}()
	}
	wg.Wait()
	placed := time.Since(start)
	for {
		var done int
		if err := db.QueryRow(`SELECT COUNT(*) FROM orders WHERE user_id = ? AND status = 'Completed'`, user).Scan(&done); err != nil {
			b.Fatal(err)
		}
		if done == b.N {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("%d of %d sagas completed in 5 minutes", done, b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/placed.Seconds(), "orders-placed/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sagas/s")
}

// BenchmarkReadStock reads one product's stock in parallel: through the
// gateway, from store-manager directly, and from Redis itself (the read
// model's own hash), to compare the read path with what Redis serves.
func BenchmarkReadStock(b *testing.B) {
	s := newSystem(b)
	product := s.product(b, "1.00", 10)
	st := config.Load()
	path := fmt.Sprintf("/stocks/%d", product)
	s.stockSettles(b, product, 10)
	for _, target := range []struct{ name, base string }{
		{"gateway", gatewayURL()},
		{"store-manager", config.Env("STORE_URL", "http://127.0.0.1:5000")},
	} {
		b.Run(target.name, func(b *testing.B) {
			var clients atomic.Int32
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// Each client reads from its own loopback address, as distinct
				// clients would, so the gateway's per-client limit applies to each.
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+clients.Add(1)))}
				c := stacktest.NewClient(target.base)
				c.HTTP.Transport = &http.Transport{DialContext: (&net.Dialer{LocalAddr: src}).DialContext, MaxIdleConnsPerHost: 4}
				for pb.Next() {
					if r, err := c.Try("GET", path, nil); err != nil || r.Status != 200 {
						b.Errorf("GET %s: %v %d", path, err, r.Status)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
	b.Run("redis", func(b *testing.B) {
		rdb := redis.NewClient(&redis.Options{Addr: st.RedisAddr, PoolSize: 64})
		defer rdb.Close()
		key := fmt.Sprintf("rm:product:%d", product)
		b.SetParallelism(16)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rdb.HGetAll(context.Background(), key).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
	})
}
