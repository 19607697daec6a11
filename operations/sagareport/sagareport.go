// Package sagareport tells operators how the order sagas go: the sagas by
// state, each step's latency, the oldest unfinished and the latest orders
// and the open money incidents (the console shows them), and the gauges that
// alerting reads (saga_orders, saga_oldest_unfinished_seconds,
// stock_products_low, money_incidents_open). It only reads the store's
// database.
package sagareport

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
)

// Queries is what a report reads of the store's database (its generated queries).
type Queries interface {
	CountOrdersByStatus(ctx context.Context) ([]storedb.CountOrdersByStatusRow, error)
	CountOrdersByStatusSince(ctx context.Context, createdAt time.Time) ([]storedb.CountOrdersByStatusSinceRow, error)
	GetOldestUnfinishedOrder(ctx context.Context) (storedb.GetOldestUnfinishedOrderRow, error)
	ListStepsSince(ctx context.Context, arg storedb.ListStepsSinceParams) ([]storedb.ListStepsSinceRow, error)
	ListUnfinishedOrders(ctx context.Context, limit int32) ([]int64, error)
	ListLatestOrders(ctx context.Context, limit int32) ([]int64, error)
	CountLowStock(ctx context.Context, quantity int32) (int64, error)
	CountOpenIncidents(ctx context.Context) (int64, error)
	ListOpenIncidents(ctx context.Context, limit int32) ([]storedb.ListOpenIncidentsRow, error)
}

// Orders reads one order as its API shows it, with its steps.
type Orders interface {
	Order(ctx context.Context, id int64) (events.Order, error)
}

// Reporter reports on the sagas of one store database.
type Reporter struct {
	q      Queries
	orders Orders
}

// New returns a reporter reading q, and orders for the orders it lists.
func New(q Queries, orders Orders) *Reporter { return &Reporter{q: q, orders: orders} }

// Report is what operators see of the sagas of the orders created since a time.
type Report struct {
	Since      time.Time
	ByState    map[string]int64
	Latencies  []StepLatency  // each step after the order's creation, then the whole saga
	Unfinished []events.Order // the oldest sagas not yet ended, with their steps
	Latest     []events.Order // the newest orders
	Incidents  []Incident     // the money events not applied that no operator has resolved, oldest first
}

// Incident is a money event the saga could not apply (a payment event that
// does not match its order, or names none), open until an operator resolves it.
type Incident struct {
	ID        int64     `json:"id"`
	OrderID   int64     `json:"order_id"`
	EventID   string    `json:"event_id"`
	EventType string    `json:"event_type"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

func (i Incident) String() string {
	return fmt.Sprintf("incident %d: %s %s for order %d at %s: %s", i.ID, i.EventType, i.EventID, i.OrderID, i.At.Format(time.RFC3339), i.Reason)
}

// Incidents lists the open incidents, oldest first, at most limit (1 to 100).
func (r *Reporter) Incidents(ctx context.Context, limit int) ([]Incident, error) {
	rows, err := r.q.ListOpenIncidents(ctx, int32(min(max(limit, 1), maxOrders)))
	if err != nil {
		return nil, fmt.Errorf("list open incidents: %w", err)
	}
	out := make([]Incident, len(rows))
	for i, row := range rows {
		out[i] = Incident{ID: row.ID, OrderID: row.OrderID, EventID: row.EventID, EventType: row.EventType, Reason: row.Reason, At: row.CreatedAt}
	}
	return out, nil
}

// StepLatency is how long the sagas took to reach one step (from the step
// before it), or to end (EndToEnd), as percentiles.
type StepLatency struct {
	Step          string
	Count         int
	P50, P95, P99 time.Duration
}

// EndToEnd names the latency from an order's creation to its saga's end.
const EndToEnd = "end to end"

// Bounds of what a report reads.
const (
	maxSteps  = 50_000
	maxOrders = 100
)

// Report reports the sagas of the orders created since since, with the
// limit (at most 100) oldest unfinished and latest orders.
func (r *Reporter) Report(ctx context.Context, since time.Time, limit int) (Report, error) {
	rep := Report{Since: since, ByState: map[string]int64{}}
	counts, err := r.q.CountOrdersByStatusSince(ctx, since)
	if err != nil {
		return rep, fmt.Errorf("count sagas by state: %w", err)
	}
	for _, c := range counts {
		rep.ByState[c.Status] = c.Orders
	}
	steps, err := r.q.ListStepsSince(ctx, storedb.ListStepsSinceParams{CreatedAt: since, Limit: maxSteps})
	if err != nil {
		return rep, fmt.Errorf("list saga steps: %w", err)
	}
	rep.Latencies = latencies(steps)
	if rep.Incidents, err = r.Incidents(ctx, maxOrders); err != nil {
		return rep, err
	}
	for _, list := range []struct {
		into  *[]events.Order
		query func(context.Context, int32) ([]int64, error)
	}{{&rep.Unfinished, r.q.ListUnfinishedOrders}, {&rep.Latest, r.q.ListLatestOrders}} {
		ids, err := list.query(ctx, int32(min(max(limit, 1), maxOrders)))
		if err != nil {
			return rep, fmt.Errorf("list orders: %w", err)
		}
		for _, id := range ids {
			o, err := r.orders.Order(ctx, id)
			if err != nil {
				continue // deleted meanwhile
			}
			*list.into = append(*list.into, o)
		}
	}
	return rep, nil
}

// latencies turns each order's steps (in order) into the time each step
// took from the one before it, and each ended saga's whole duration.
func latencies(steps []storedb.ListStepsSinceRow) []StepLatency {
	by := map[string][]time.Duration{}
	var order []string
	add := func(step string, d time.Duration) {
		if _, ok := by[step]; !ok {
			order = append(order, step)
		}
		by[step] = append(by[step], d)
	}
	for i := 1; i < len(steps); i++ {
		prev, cur := steps[i-1], steps[i]
		if prev.OrderID != cur.OrderID {
			continue
		}
		add(cur.Event, cur.CreatedAt.Sub(prev.CreatedAt))
		if cur.Event == events.SagaCompleted || cur.Event == events.OrderCancelled {
			first := i
			for first > 0 && steps[first-1].OrderID == cur.OrderID {
				first--
			}
			add(EndToEnd, cur.CreatedAt.Sub(steps[first].CreatedAt))
		}
	}
	if _, ok := by[EndToEnd]; ok { // the whole saga last, the steps in the order they first appeared
		order = append(slices.DeleteFunc(order, func(s string) bool { return s == EndToEnd }), EndToEnd)
	}
	out := make([]StepLatency, 0, len(order))
	for _, step := range order {
		ds := by[step]
		slices.Sort(ds)
		at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
		out = append(out, StepLatency{Step: step, Count: len(ds), P50: at(0.50), P95: at(0.95), P99: at(0.99)})
	}
	return out
}

// States counts orders by saga state, and says when the oldest order whose
// saga is not terminal was created (zero when there is none).
func (r *Reporter) States(ctx context.Context) (map[string]int64, time.Time, error) {
	rows, err := r.q.CountOrdersByStatus(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("count orders by state: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, row := range rows {
		out[row.Status] = row.Orders
	}
	oldest, err := r.q.GetOldestUnfinishedOrder(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return out, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("oldest unfinished order: %w", err)
	}
	return out, oldest.CreatedAt, nil
}

// The gauges Export keeps.
var (
	sagasByState = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "saga_orders",
		Help: "Orders by saga state.",
	}, []string{"state"})
	lowStock = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "stock_products_low",
		Help: "Products with LowStockThreshold (5) units or fewer.",
	})
	openIncidents = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "money_incidents_open",
		Help: "Money events the saga could not apply that no operator has resolved (storectl incidents).",
	})
	oldestUnfinished = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "saga_oldest_unfinished_seconds",
		Help: "Age of the oldest order whose saga is not terminal (0 when none is).",
	})
)

// LowStockThreshold is the stock level at or under which a product counts as low.
const LowStockThreshold = 5

// Export sets the gauges every interval until ctx ends: orders by state and
// the age of the oldest unfinished saga, which alerting compares with the
// saga deadline, the products low on stock and the open money incidents. Every replica may run it: it only reads.
func (r *Reporter) Export(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if states, oldest, err := r.States(ctx); err == nil {
			for state, n := range states {
				sagasByState.WithLabelValues(state).Set(float64(n))
			}
			age := 0.0
			if !oldest.IsZero() {
				age = time.Since(oldest).Seconds()
			}
			oldestUnfinished.Set(age)
		}
		if n, err := r.q.CountLowStock(ctx, LowStockThreshold); err == nil {
			lowStock.Set(float64(n))
		}
		if n, err := r.q.CountOpenIncidents(ctx); err == nil {
			openIncidents.Set(float64(n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
