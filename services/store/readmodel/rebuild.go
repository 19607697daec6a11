package readmodel

import (
	"context"
	"fmt"

	"github.com/store-manager/store-manager/services/platform/events"
)

// Snapshots is where a rebuild reads the write side's state: the store
// database, through the store service.
type Snapshots interface {
	ProductSnapshots(ctx context.Context) ([]events.Product, []events.Stock, error)
	OrderSnapshots(ctx context.Context, after int64, limit int) ([]events.Order, error)
}

// Rebuild clears the read models and writes them anew from src. Events the
// projector applies meanwhile are kept when newer, by version.
func (s *Store) Rebuild(ctx context.Context, src Snapshots) error {
	if err := s.Reset(ctx); err != nil {
		return err
	}
	products, stocks, err := src.ProductSnapshots(ctx)
	if err != nil {
		return err
	}
	for _, p := range products {
		if err := s.PutProduct(ctx, p); err != nil {
			return err
		}
	}
	for _, st := range stocks {
		if err := s.PutStock(ctx, st); err != nil {
			return err
		}
	}
	const page = 500
	for after := int64(0); ; {
		orders, err := src.OrderSnapshots(ctx, after, page)
		if err != nil {
			return fmt.Errorf("read orders after %d: %w", after, err)
		}
		if len(orders) == 0 {
			return nil
		}
		for _, o := range orders {
			if err := s.PutOrder(ctx, o); err != nil {
				return err
			}
		}
		after = orders[len(orders)-1].ID
	}
}
