package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// CreateProduct adds a product with no stock; the SKU must be unused. price
// is a decimal with at most two places.
func (s *Service) CreateProduct(ctx context.Context, name, sku, price string) (int64, error) {
	if err := checkName("name", name, MaxNameLen); err != nil {
		return 0, err
	}
	if err := checkName("sku", sku, MaxSKULen); err != nil {
		return 0, err
	}
	cents, err := money.Parse(price)
	if err != nil {
		return 0, errs.Errorf(ErrInvalid, "price: %v", err)
	}
	var id int64
	err = s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		id, err = q.CreateProduct(ctx, storedb.CreateProductParams{Name: name, Sku: sku, Price: cents.String()})
		if txn.MySQLError(err, txn.DuplicateKey) {
			return nil, errs.Errorf(ErrConflict, "SKU %s is already used", sku)
		}
		if err != nil {
			return nil, fmt.Errorf("create product: %w", err)
		}
		if err := q.SetStock(ctx, storedb.SetStockParams{ProductID: id, Quantity: 0}); err != nil {
			return nil, fmt.Errorf("create stock of product %d: %w", id, err)
		}
		created, err := outbox.New(events.TopicProducts, fmt.Sprint(id), events.ProductCreated,
			events.Product{ID: id, Name: name, SKU: sku, Price: cents.String()})
		if err != nil {
			return nil, err
		}
		stock, err := stockChanged(ctx, q, id)
		return []outbox.Event{created, stock.event}, err
	})
	return id, err
}

// Product returns a product with its stock, from the read model.
func (s *Service) Product(ctx context.Context, id int64) (Product, error) {
	p, presence, err := s.reads.Product(ctx, id)
	if err != nil {
		return Product{}, err
	}
	switch presence {
	case Deleted:
		return Product{}, errs.Errorf(ErrNotFound, "product %d not found", id)
	case Missing:
		return s.productFromDB(ctx, id) // not projected yet: read your own write
	}
	return p, nil
}

func (s *Service) productFromDB(ctx context.Context, id int64) (Product, error) {
	q := s.db.Queries()
	p, err := q.GetProduct(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Product{}, errs.Errorf(ErrNotFound, "product %d not found", id)
	}
	if err != nil {
		return Product{}, fmt.Errorf("get product %d: %w", id, err)
	}
	st, err := q.GetStock(ctx, id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Product{}, fmt.Errorf("get stock %d: %w", id, err)
	}
	return productOf(p, st.Quantity, st.Version), nil
}

// productOf is a product row with its stock.
func productOf(p storedb.Product, quantity int32, version int64) Product {
	return Product{Product: events.Product{ID: p.ID, Name: p.Name, SKU: p.Sku, Price: p.Price}, Quantity: quantity, StockVersion: version}
}

// DeleteProduct removes a product that no order uses, with its stock. It
// returns once the read side no longer shows the product (or after a bound).
func (s *Service) DeleteProduct(ctx context.Context, id int64) error {
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		n, err := q.DeleteProduct(ctx, id)
		if txn.MySQLError(err, txn.RowReferenced, txn.RowReferenced2) {
			return nil, errs.Errorf(ErrConflict, "product %d is used by orders and cannot be deleted", id)
		}
		if err != nil {
			return nil, fmt.Errorf("delete product %d: %w", id, err)
		}
		if n == 0 {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", id)
		}
		return event(events.TopicProducts, id, events.ProductDeleted, events.Product{ID: id})
	})
	if err == nil {
		s.awaitGone(ctx, func(ctx context.Context) (Presence, error) {
			_, p, err := s.reads.Product(ctx, id)
			return p, err
		})
	}
	return err
}
