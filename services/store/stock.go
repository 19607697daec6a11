package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// SetStock sets a product's stock to an absolute quantity.
func (s *Service) SetStock(ctx context.Context, productID int64, quantity int64) (events.Stock, error) {
	if quantity < 0 || quantity > MaxStock {
		return events.Stock{}, errs.Errorf(ErrInvalid, "quantity must be between 0 and %d", MaxStock)
	}
	var st events.Stock
	err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		if _, err := q.GetProduct(ctx, productID); errors.Is(err, sql.ErrNoRows) {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", productID)
		} else if err != nil {
			return nil, fmt.Errorf("get product %d: %w", productID, err)
		}
		err := q.SetStock(ctx, storedb.SetStockParams{ProductID: productID, Quantity: int32(quantity)})
		if txn.MySQLError(err, txn.NoReferencedRow) {
			return nil, errs.Errorf(ErrNotFound, "product %d not found", productID)
		}
		if err != nil {
			return nil, fmt.Errorf("set stock of product %d: %w", productID, err)
		}
		e, err := stockChanged(ctx, q, productID)
		if err != nil {
			return nil, err
		}
		st = e.stock
		return []outbox.Event{e.event}, nil
	})
	return st, err
}

// stockChange is a stock row as a command left it, and the event announcing it.
type stockChange struct {
	stock events.Stock
	event outbox.Event
}

// stockChanged reads a product's stock after a change, inside the command's
// transaction, and builds its StockUpdated event with the absolute quantity
// and version.
func stockChanged(ctx context.Context, q stockPort, productID int64) (stockChange, error) {
	row, err := q.GetStock(ctx, productID)
	if err != nil {
		return stockChange{}, fmt.Errorf("read stock of product %d: %w", productID, err)
	}
	st := events.Stock{ProductID: productID, Quantity: row.Quantity, Version: row.Version}
	e, err := stockUpdated(st)
	return stockChange{stock: st, event: e}, err
}

// stockUpdated is the event that announces a product's stock as a command left it.
func stockUpdated(st events.Stock) (outbox.Event, error) {
	return outbox.New(events.TopicStocks, strconv.FormatInt(st.ProductID, 10), events.StockUpdated, st)
}
