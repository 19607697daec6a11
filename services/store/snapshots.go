package store

import (
	"context"
	"fmt"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
)

// ProductSnapshots returns every product and its stock row as the database
// holds them, for rebuilding the read side.
func (s *Service) ProductSnapshots(ctx context.Context) ([]events.Product, []events.Stock, error) {
	rows, err := s.db.Queries().ListProductsWithStock(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list products: %w", err)
	}
	products := make([]events.Product, 0, len(rows))
	stocks := make([]events.Stock, 0, len(rows))
	for _, p := range rows {
		products = append(products, events.Product{ID: p.ID, Name: p.Name, SKU: p.Sku, Price: p.Price})
		if p.Quantity.Valid {
			stocks = append(stocks, events.Stock{ProductID: p.ID, Quantity: p.Quantity.Int32, Version: p.StockVersion.Int64})
		}
	}
	return products, stocks, nil
}

// OrderSnapshots returns up to limit orders with ids above after, in id
// order, with their items and steps, for rebuilding the read side.
func (s *Service) OrderSnapshots(ctx context.Context, after int64, limit int) ([]events.Order, error) {
	q := s.db.Queries()
	orders, err := q.ListOrders(ctx, storedb.ListOrdersParams{ID: after, Limit: int32(limit)})
	if err != nil || len(orders) == 0 {
		return nil, err
	}
	ids := make([]int64, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	items, err := q.ListOrderItemsForOrders(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list order items: %w", err)
	}
	steps, err := q.ListOrderStepsForOrders(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list order steps: %w", err)
	}
	itemsOf := map[int64][]storedb.OrderItem{}
	for _, it := range items {
		itemsOf[it.OrderID] = append(itemsOf[it.OrderID], it)
	}
	stepsOf := map[int64][]storedb.OrderStep{}
	for _, st := range steps {
		stepsOf[st.OrderID] = append(stepsOf[st.OrderID], st)
	}
	out := make([]events.Order, len(orders))
	for i, o := range orders {
		out[i] = buildOrder(o, itemsOf[o.ID], stepsOf[o.ID])
	}
	return out, nil
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
