package store

import (
	"context"
	"fmt"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/events"
	"github.com/store-manager/store-manager/services/readmodel"
)

// Rebuild clears the read models and writes them anew from the database.
// Events the projector applies meanwhile are kept when newer, by version.
func (s *Service) Rebuild(ctx context.Context, rm *readmodel.Store) error {
	if err := rm.Reset(ctx); err != nil {
		return err
	}
	q := s.q.Queries()
	products, err := q.ListProductsWithStock(ctx)
	if err != nil {
		return fmt.Errorf("list products: %w", err)
	}
	for _, p := range products {
		if err := rm.PutProduct(ctx, events.Product{ID: p.ID, Name: p.Name, SKU: p.Sku, Price: p.Price}); err != nil {
			return err
		}
		if p.Quantity.Valid {
			st := events.Stock{ProductID: p.ID, Quantity: p.Quantity.Int32, Version: p.StockVersion.Int64}
			if err := rm.PutStock(ctx, st); err != nil {
				return err
			}
		}
	}
	const page = 500
	for after := int64(0); ; {
		orders, err := q.ListOrders(ctx, storedb.ListOrdersParams{ID: after, Limit: page})
		if err != nil {
			return fmt.Errorf("list orders: %w", err)
		}
		if len(orders) == 0 {
			return nil
		}
		ids := make([]int64, len(orders))
		for i, o := range orders {
			ids[i] = o.ID
		}
		items, err := q.ListOrderItemsForOrders(ctx, ids)
		if err != nil {
			return fmt.Errorf("list order items: %w", err)
		}
		steps, err := q.ListOrderStepsForOrders(ctx, ids)
		if err != nil {
			return fmt.Errorf("list order steps: %w", err)
		}
		itemsOf := map[int64][]storedb.OrderItem{}
		for _, it := range items {
			itemsOf[it.OrderID] = append(itemsOf[it.OrderID], it)
		}
		stepsOf := map[int64][]storedb.OrderStep{}
		for _, st := range steps {
			stepsOf[st.OrderID] = append(stepsOf[st.OrderID], st)
		}
		for _, o := range orders {
			if err := rm.PutOrder(ctx, buildOrder(o, itemsOf[o.ID], stepsOf[o.ID])); err != nil {
				return err
			}
		}
		after = orders[len(orders)-1].ID
	}
}
