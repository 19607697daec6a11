package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
)

// SagaReport is what operators see of the sagas of the orders created since a time.
type SagaReport struct {
	Since      time.Time
	ByState    map[string]int64
	Latencies  []StepLatency  // each step after the order's creation, then the whole saga
	Unfinished []events.Order // the oldest sagas not yet ended, with their steps
	Latest     []events.Order // the newest orders
}

// StepLatency is how long the sagas took to reach one step (from the step
// before it), or to end ("end to end"), as percentiles.
type StepLatency struct {
	Step          string
	Count         int
	P50, P95, P99 time.Duration
}

// EndToEnd names the latency from an order's creation to its saga's end.
const EndToEnd = "end to end"

// maxReportSteps bounds the steps a report reads.
const maxReportSteps = 50_000

// SagaReport reports the sagas of the orders created since since, with
// the limit oldest unfinished and latest orders.
func (s *Service) SagaReport(ctx context.Context, since time.Time, limit int) (SagaReport, error) {
	q := s.db.Queries()
	r := SagaReport{Since: since, ByState: map[string]int64{}}
	counts, err := q.CountOrdersByStatusSince(ctx, since)
	if err != nil {
		return r, fmt.Errorf("count sagas by state: %w", err)
	}
	for _, c := range counts {
		r.ByState[c.Status] = c.Orders
	}
	steps, err := q.ListStepsSince(ctx, storedb.ListStepsSinceParams{CreatedAt: since, Limit: maxReportSteps})
	if err != nil {
		return r, fmt.Errorf("list saga steps: %w", err)
	}
	r.Latencies = latencies(steps)
	for _, list := range []struct {
		into  *[]events.Order
		query func(context.Context, int32) ([]int64, error)
	}{{&r.Unfinished, q.ListUnfinishedOrders}, {&r.Latest, q.ListLatestOrders}} {
		ids, err := list.query(ctx, int32(clampLimit(limit)))
		if err != nil {
			return r, fmt.Errorf("list orders: %w", err)
		}
		for _, id := range ids {
			o, err := orderSnapshot(ctx, q, id)
			if err != nil {
				continue // deleted meanwhile
			}
			*list.into = append(*list.into, o)
		}
	}
	return r, nil
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

// ReadModelCheck is how far the read model agrees with the database on stock.
type ReadModelCheck struct {
	Checked    int
	Mismatches []string // one line per product whose stock differs
}

// CheckReadModel compares every product's stock in the read model with the database's.
func (s *Service) CheckReadModel(ctx context.Context) (ReadModelCheck, error) {
	_, stocks, err := s.ProductSnapshots(ctx)
	if err != nil {
		return ReadModelCheck{}, err
	}
	var c ReadModelCheck
	for _, st := range stocks {
		p, presence, err := s.reads.Product(ctx, st.ProductID)
		if err != nil {
			return c, fmt.Errorf("read model of product %d: %w", st.ProductID, err)
		}
		c.Checked++
		switch {
		case presence != Present:
			c.Mismatches = append(c.Mismatches, fmt.Sprintf("product %d: %d in stock, missing from the read model", st.ProductID, st.Quantity))
		case p.Quantity != st.Quantity:
			c.Mismatches = append(c.Mismatches, fmt.Sprintf("product %d: %d in stock, %d in the read model", st.ProductID, st.Quantity, p.Quantity))
		}
	}
	return c, nil
}
