package store

import (
	"context"
	"fmt"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// StockLine is one line of the stock overview.
type StockLine struct {
	ProductID int64
	Name      string
	SKU       string
	Price     string
	Quantity  int64
}

// StockOverview lists every product with its units in stock (one SQL join).
func (s *Service) StockOverview(ctx context.Context) ([]StockLine, error) {
	rows, err := s.db.Queries().ListStockOverview(ctx)
	if err != nil {
		return nil, fmt.Errorf("stock overview: %w", err)
	}
	out := make([]StockLine, len(rows))
	for i, r := range rows {
		out[i] = StockLine{ProductID: r.ID, Name: r.Name, SKU: r.Sku, Price: r.Price, Quantity: int64(r.Quantity)}
	}
	return out, nil
}

// Spender is a user with the total of their orders that were not cancelled.
type Spender struct {
	UserID       int64
	Name         string
	TotalExpense string
}

// HighestSpenders returns the limit users who spent most.
func (s *Service) HighestSpenders(ctx context.Context, limit int) ([]Spender, error) {
	rows, err := s.db.Queries().ListHighestSpenders(ctx, int32(clampLimit(limit)))
	if err != nil {
		return nil, fmt.Errorf("highest spenders: %w", err)
	}
	out := make([]Spender, len(rows))
	for i, r := range rows {
		out[i] = Spender{UserID: r.UserID, Name: r.Name, TotalExpense: r.TotalExpense}
	}
	return out, nil
}

// Seller is a product with the units sold in orders that were not cancelled.
type Seller struct {
	ProductID    int64
	Name         string
	QuantitySold int64
}

// BestSellers returns the limit products sold most.
func (s *Service) BestSellers(ctx context.Context, limit int) ([]Seller, error) {
	rows, err := s.db.Queries().ListBestSellers(ctx, int32(clampLimit(limit)))
	if err != nil {
		return nil, fmt.Errorf("best sellers: %w", err)
	}
	out := make([]Seller, len(rows))
	for i, r := range rows {
		out[i] = Seller{ProductID: r.ProductID, Name: r.Name, QuantitySold: r.QuantitySold}
	}
	return out, nil
}

func clampLimit(n int) int { return min(max(n, 1), MaxReportLimit) }

// Products pages through products with their stock, from the read model.
func (s *Service) Products(ctx context.Context, afterID int64, limit int) ([]Product, error) {
	return s.reads.Products(ctx, afterID, clampLimit(limit))
}

// CheckThreshold accepts a low-stock threshold: 0 to MaxStock units.
func CheckThreshold(threshold int64) error {
	if threshold < 0 || threshold > MaxStock {
		return errs.Errorf(ErrInvalid, "threshold must be between 0 and %d", MaxStock)
	}
	return nil
}

// LowStock lists products with at most threshold units, from the read model.
func (s *Service) LowStock(ctx context.Context, threshold int64, limit int) ([]Product, error) {
	if err := CheckThreshold(threshold); err != nil {
		return nil, err
	}
	return s.reads.LowStock(ctx, int32(threshold), clampLimit(limit))
}

// ProductsByID returns the live products among ids (at most
// MaxReportLimit), in their order, from the read model.
func (s *Service) ProductsByID(ctx context.Context, ids []int64) ([]Product, error) {
	if len(ids) > MaxReportLimit {
		return nil, errs.Errorf(ErrInvalid, "at most %d products are read at once", MaxReportLimit)
	}
	return s.reads.ProductsByID(ctx, ids)
}
