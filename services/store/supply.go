package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// This file is what suppliers do and read: restocks, idempotent by key and
// kept as their history, and the sales figures a restock is planned from.

// MaxIdempotencyKeyLen is the longest idempotency key a restock takes.
const MaxIdempotencyKeyLen = 128

// MaxSalesProducts bounds the products one sales query covers, and the
// low-stock products ordered by days left.
const MaxSalesProducts = 1000

// RestockRequest is one supplier's restock.
type RestockRequest struct {
	Supplier  string // the supplier, as its key names it
	Key       string // the idempotency key; empty for none
	ProductID int64
	Quantity  int64
}

// Restock is one recorded restock.
type Restock struct {
	ID           int64
	Supplier     string
	Key          string // empty when the restock was sent without one
	ProductID    int64
	Quantity     int32
	StockAfter   int32 // the product's units in stock right after it
	StockVersion int64
	At           time.Time
}

// Restocked is what a restock did: the product as it left it, the record,
// and whether the restock had been done already under the same key (the
// first result, returned again, with nothing added).
type Restocked struct {
	Product  Product
	Restock  Restock
	Replayed bool
}

// errKeyTaken is a restock whose key another transaction recorded first.
var errKeyTaken = errors.New("idempotency key recorded meanwhile")

// Restock adds units to a product's stock (the suppliers' mutation) and
// records it. A restock with the key of one already recorded for the same
// supplier adds nothing: it returns the first result when it asks for the
// same product and quantity, and a conflict when it asks for anything else.
func (s *Service) Restock(ctx context.Context, r RestockRequest) (Restocked, error) {
	if r.Quantity < 1 || r.Quantity > MaxStock {
		return Restocked{}, errs.Errorf(ErrInvalid, "quantity must be between 1 and %d", MaxStock)
	}
	if err := checkKey(r.Key); err != nil {
		return Restocked{}, err
	}
	if r.Key != "" {
		if out, found, err := s.replay(ctx, r); found || err != nil {
			return out, err
		}
	}
	var out Restocked
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		n, err := q.IncreaseStock(ctx, storedb.IncreaseStockParams{Amount: int32(r.Quantity), ProductID: r.ProductID})
		if txn.MySQLError(err, txn.OutOfRange, txn.CheckFailed, txn.CheckFailedMy) {
			return nil, errs.Errorf(ErrInvalid, "stock of product %d would exceed %d units", r.ProductID, MaxStock)
		}
		if err != nil {
			return nil, fmt.Errorf("restock product %d: %w", r.ProductID, err)
		}
		if n == 0 {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", r.ProductID)
		}
		c, err := stockChanged(ctx, q, r.ProductID)
		if err != nil {
			return nil, err
		}
		if int64(c.stock.Quantity) > MaxStock {
			return nil, errs.Errorf(ErrInvalid, "stock of product %d would exceed %d units", r.ProductID, MaxStock)
		}
		p, err := q.GetProduct(ctx, r.ProductID)
		if err != nil {
			return nil, fmt.Errorf("get product %d: %w", r.ProductID, err)
		}
		rec := Restock{Supplier: r.Supplier, Key: r.Key, ProductID: r.ProductID, Quantity: int32(r.Quantity),
			StockAfter: c.stock.Quantity, StockVersion: c.stock.Version, At: time.Now().UTC()}
		rec.ID, err = q.CreateRestock(ctx, storedb.CreateRestockParams{
			Supplier: r.Supplier, IdempotencyKey: sql.NullString{String: r.Key, Valid: r.Key != ""},
			ProductID: r.ProductID, Quantity: rec.Quantity, StockAfter: rec.StockAfter, StockVersion: rec.StockVersion,
		})
		if txn.MySQLError(err, txn.DuplicateKey) {
			return nil, errKeyTaken
		}
		if err != nil {
			return nil, fmt.Errorf("record restock of product %d: %w", r.ProductID, err)
		}
		out = Restocked{
			Product: productOf(p, c.stock.Quantity, c.stock.Version),
			Restock: rec,
		}
		return []outbox.Event{c.event}, nil
	})
	if errors.Is(err, errKeyTaken) { // the same key, sent twice at once: the first one's result
		out, _, err = s.replay(ctx, r)
	}
	return out, err
}

// replay finds the restock recorded under r's key and returns its result,
// or a conflict when r asks for something else than it did.
func (s *Service) replay(ctx context.Context, r RestockRequest) (Restocked, bool, error) {
	q := s.db.Queries()
	row, err := q.GetRestockByKey(ctx, storedb.GetRestockByKeyParams{Supplier: r.Supplier, IdempotencyKey: sql.NullString{String: r.Key, Valid: true}})
	if errors.Is(err, sql.ErrNoRows) {
		return Restocked{}, false, nil
	}
	if err != nil {
		return Restocked{}, false, fmt.Errorf("find restock by key: %w", err)
	}
	rec := newRestock(row)
	if rec.ProductID != r.ProductID || int64(rec.Quantity) != r.Quantity {
		return Restocked{}, true, errs.Errorf(ErrConflict,
			"idempotency key %q was used for a restock of %d units of product %d: send a new key for another restock",
			r.Key, rec.Quantity, rec.ProductID)
	}
	p, err := q.GetProduct(ctx, rec.ProductID)
	if errors.Is(err, sql.ErrNoRows) {
		return Restocked{}, true, errs.Errorf(ErrNotFound, "product %d, restocked under this key, was deleted since", rec.ProductID)
	}
	if err != nil {
		return Restocked{}, true, fmt.Errorf("get product %d: %w", rec.ProductID, err)
	}
	return Restocked{
		Product: productOf(p, rec.StockAfter, rec.StockVersion),
		Restock: rec, Replayed: true,
	}, true, nil
}

// checkKey accepts an empty key, or 1 to MaxIdempotencyKeyLen printable ASCII characters.
func checkKey(key string) error {
	if len(key) > MaxIdempotencyKeyLen {
		return errs.Errorf(ErrInvalid, "the idempotency key is over %d characters", MaxIdempotencyKeyLen)
	}
	for _, c := range []byte(key) {
		if c < 0x21 || c > 0x7e {
			return errs.Errorf(ErrInvalid, "the idempotency key must be printable ASCII without spaces")
		}
	}
	return nil
}

func newRestock(r storedb.Restock) Restock {
	return Restock{ID: r.ID, Supplier: r.Supplier, Key: r.IdempotencyKey.String, ProductID: r.ProductID, Quantity: r.Quantity,
		StockAfter: r.StockAfter, StockVersion: r.StockVersion, At: r.CreatedAt.UTC()}
}

// Restocks lists a supplier's restocks since a time, newest first, of one
// product when productID is not 0.
func (s *Service) Restocks(ctx context.Context, supplier string, productID int64, since time.Time, limit int) ([]Restock, error) {
	q := s.db.Queries()
	var (
		rows []storedb.Restock
		err  error
	)
	if productID == 0 {
		rows, err = q.ListRestocks(ctx, storedb.ListRestocksParams{Supplier: supplier, CreatedAt: since.UTC(), Limit: int32(clampLimit(limit))})
	} else {
		rows, err = q.ListProductRestocks(ctx, storedb.ListProductRestocksParams{
			Supplier: supplier, ProductID: productID, CreatedAt: since.UTC(), Limit: int32(clampLimit(limit))})
	}
	if err != nil {
		return nil, fmt.Errorf("list restocks: %w", err)
	}
	out := make([]Restock, len(rows))
	for i, r := range rows {
		out[i] = newRestock(r)
	}
	return out, nil
}

// SalesWindow is the span the pace of sales is measured over.
const SalesWindow = 30

// Sales are a product's units sold by completed orders over the last day,
// 7 days and 30 days.
type Sales struct {
	Day, Week, Month int64
}

// DaysLeft is how many days quantity units last at the pace of the last 30
// days; ok is false when nothing sold in that time (the stock lasts forever
// at that pace).
func (s Sales) DaysLeft(quantity int32) (days float64, ok bool) {
	if s.Month <= 0 {
		return 0, false
	}
	return float64(quantity) / (float64(s.Month) / SalesWindow), true
}

// SalesOf returns the sales of each product in ids (at most
// MaxSalesProducts), in one query; a product that sold nothing has none.
func (s *Service) SalesOf(ctx context.Context, ids []int64) (map[int64]Sales, error) {
	out := make(map[int64]Sales, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > MaxSalesProducts {
		return nil, errs.Errorf(ErrInvalid, "sales are read for at most %d products at once", MaxSalesProducts)
	}
	rows, err := s.db.Queries().ListProductSales(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list product sales: %w", err)
	}
	for _, r := range rows {
		out[r.ProductID] = Sales{Day: r.Sold1d, Week: r.Sold7d, Month: r.Sold30d}
	}
	return out, nil
}

// LowStockByDaysLeft lists up to limit products with at most threshold
// units, those that run out soonest at the pace of their sales first, then
// those that did not sell, lowest stock first. It orders the
// MaxSalesProducts lowest stocks.
func (s *Service) LowStockByDaysLeft(ctx context.Context, threshold int64, limit int) ([]Product, map[int64]Sales, error) {
	if err := CheckThreshold(threshold); err != nil {
		return nil, nil, err
	}
	list, err := s.reads.LowStock(ctx, int32(threshold), MaxSalesProducts)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]int64, len(list))
	for i, p := range list {
		ids[i] = p.ID
	}
	sales, err := s.SalesOf(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	left := func(p Product) float64 {
		if d, ok := sales[p.ID].DaysLeft(p.Quantity); ok {
			return d
		}
		return math.Inf(1)
	}
	slices.SortStableFunc(list, func(a, b Product) int { // list comes lowest stock first
		da, db := left(a), left(b)
		switch {
		case da < db:
			return -1
		case da > db:
			return 1
		}
		return 0
	})
	return list[:min(len(list), clampLimit(limit))], sales, nil
}
