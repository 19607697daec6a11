package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/store-manager/store-manager/services/platform/errs"
)

// LimitOpenOrders makes CreateOrder refuse new orders (ErrBusy, a 503)
// while max orders or more are under way: created within the last
// openWindow and their saga not ended. Past the saga's capacity, an order
// accepted only adds to a backlog that delays every order behind it, and
// accepting it costs the CPU the backlog needs to drain; bounded, the
// backlog holds at most max orders. 0 never refuses.
func (s *Service) LimitOpenOrders(max int64) { s.open.max = max }

// DefaultMaxOpenOrders bounds the orders under way (MAX_OPEN_ORDERS): about
// a second and a half of the saga's capacity on a 2-core machine. Fewer
// would keep the queue shorter, but also the consumers' batches smaller,
// which costs throughput.
const DefaultMaxOpenOrders = 500

// openWindow is how far back the count of open orders looks: an order
// stuck for longer is the deadline sweep's, not a backlog.
const openWindow = 5 * time.Minute

// openRefresh is how long a count of open orders is used before it is
// counted again: at most ten queries a second, whatever the request rate.
const openRefresh = 100 * time.Millisecond

// ordersRefused counts the new orders refused because too many were under way.
var ordersRefused = promauto.NewCounter(prometheus.CounterOpts{
	Name: "store_orders_refused_total",
	Help: "New orders answered 503 because MAX_OPEN_ORDERS orders were under way.",
})

// openOrders is the last count of the orders under way, and when it was taken.
type openOrders struct {
	max int64
	mu  sync.Mutex
	n   int64
	at  time.Time
}

// admit refuses a new order while too many are under way.
func (s *Service) admit(ctx context.Context, now time.Time) error {
	if s.open.max <= 0 {
		return nil
	}
	s.open.mu.Lock()
	defer s.open.mu.Unlock()
	if now.Sub(s.open.at) >= openRefresh {
		n, err := s.db.Queries().CountOpenOrders(ctx, now.Add(-openWindow).UTC())
		if err != nil {
			return fmt.Errorf("count open orders: %w", err)
		}
		s.open.n, s.open.at = n, now
	}
	if s.open.n >= s.open.max {
		ordersRefused.Inc()
		return errs.Errorf(ErrBusy, "%d orders are under way, the most the store takes: retry in a second", s.open.n)
	}
	return nil
}
