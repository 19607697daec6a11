package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
)

// Item is one line of an order to create.
type Item struct {
	ProductID int64
	Quantity  int64
}

// CreateOrder records an order for userID and starts its saga with
// OrderCreated. Lines naming the same product are one line of their summed
// quantity.
func (s *Service) CreateOrder(ctx context.Context, userID int64, items []Item) (int64, error) {
	if len(items) == 0 {
		return 0, errs.Errorf(ErrInvalid, "an order needs at least one item")
	}
	if len(items) > MaxOrderItems {
		return 0, errs.Errorf(ErrInvalid, "an order has at most %d items", MaxOrderItems)
	}
	line := make(map[int64]int, len(items)) // a product's line among the merged ones
	merged := make([]Item, 0, len(items))
	for i, it := range items {
		if it.Quantity < 1 || it.Quantity > MaxItemQty {
			return 0, errs.Errorf(ErrInvalid, "items[%d].quantity must be between 1 and %d", i, MaxItemQty)
		}
		if k, ok := line[it.ProductID]; ok {
			merged[k].Quantity += it.Quantity // at most MaxOrderItems × MaxItemQty: within MaxStock
			continue
		}
		line[it.ProductID] = len(merged)
		merged = append(merged, it)
	}
	items = merged // in product order, as the database lists an order's items
	slices.SortFunc(items, func(a, b Item) int { return cmp.Compare(a.ProductID, b.ProductID) })
	if err := s.admit(ctx, time.Now()); err != nil {
		return 0, err
	}
	c := &creating{ctx: ctx, userID: userID, items: items, done: make(chan struct{}, 1)}
	s.creates.submit(c, s.createOrders)
	return c.id, c.err
}

// orderSnapshot reads an order with its items and steps.
func orderSnapshot(ctx context.Context, q Queries, id int64) (events.Order, error) {
	o, err := q.GetOrder(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return events.Order{}, errs.Errorf(ErrNotFound, "order %d not found", id)
	}
	if err != nil {
		return events.Order{}, fmt.Errorf("get order %d: %w", id, err)
	}
	items, err := q.ListOrderItems(ctx, id)
	if err != nil {
		return events.Order{}, fmt.Errorf("list items of order %d: %w", id, err)
	}
	steps, err := q.ListOrderSteps(ctx, id)
	if err != nil {
		return events.Order{}, fmt.Errorf("list steps of order %d: %w", id, err)
	}
	return buildOrder(o, items, steps), nil
}

// Order returns an order with its items and saga history, from the read model.
func (s *Service) Order(ctx context.Context, id int64) (events.Order, error) {
	o, presence, err := s.reads.Order(ctx, id)
	if err != nil {
		return events.Order{}, err
	}
	switch presence {
	case Deleted:
		return events.Order{}, errs.Errorf(ErrNotFound, "order %d not found", id)
	case Missing:
		return orderSnapshot(ctx, s.db.Queries(), id) // not projected yet: read your own write
	}
	return o, nil
}

// DeleteOrder deletes an unpaid order. One that cannot have a payment yet
// (its stock not taken) is removed at once, in one transaction, and done is
// true once the read side no longer shows it (or after a bound). One that
// may have a payment becomes Deleting (OrderDeleting): it can no longer be
// paid, and it is removed, its stock returned, when the payments service
// has voided or refunded its payment; DeleteOrder then returns the order as
// it now is, with done false. Deleting it again while it waits changes
// nothing. A paid order, or one being cancelled, is a conflict.
func (s *Service) DeleteOrder(ctx context.Context, id int64) (pending events.Order, done bool, err error) {
	err = s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Errorf(ErrNotFound, "order %d not found", id)
		}
		if o.Status == StatusDeleting {
			pending = buildOrder(o.Order, o.items, o.steps)
			return nil, nil
		}
		d := decide(&o.Order, input{kind: inputDelete})
		if d.ignore != "" {
			return nil, errs.Errorf(ErrConflict, "order %d cannot be deleted: %s", id, d.ignore)
		}
		out, err := carryOut(ctx, q, o, d, input{kind: inputDelete}, nil)
		if err != nil {
			return nil, err
		}
		done = o.deleted
		if !done {
			pending = buildOrder(o.Order, o.items, o.steps)
		}
		return out, nil
	})
	if err == nil && done {
		s.awaitGone(ctx, func(ctx context.Context) (Presence, error) {
			_, p, err := s.reads.Order(ctx, id)
			return p, err
		})
	}
	return pending, done, err
}

// returnStock gives an order's items back to stock and builds their StockUpdated events.
func returnStock(ctx context.Context, q stockPort, items []storedb.OrderItem) ([]outbox.Event, error) {
	out := make([]outbox.Event, 0, len(items))
	for _, it := range items {
		if _, err := q.IncreaseStock(ctx, storedb.IncreaseStockParams{Amount: it.Quantity, ProductID: it.ProductID}); err != nil {
			return nil, fmt.Errorf("return stock of product %d: %w", it.ProductID, err)
		}
		c, err := stockChanged(ctx, q, it.ProductID)
		if err != nil {
			return nil, err
		}
		out = append(out, c.event)
	}
	return out, nil
}

// MaxPaymentLink is the longest payment link PUT /orders accepts.
const MaxPaymentLink = 255

// UpdateOrder is the original's PUT /orders, for employees: it sets an
// order's payment link. is_paid is the payment's truth, set by the saga when
// the order's own payment is processed: a request that contradicts it is a
// conflict. A nil link leaves the link as it is.
func (s *Service) UpdateOrder(ctx context.Context, id int64, isPaid bool, paymentLink *string) error {
	if paymentLink != nil {
		if err := checkLink(*paymentLink); err != nil {
			return err
		}
	}
	return s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.Errorf(ErrNotFound, "order %d not found", id)
		}
		if isPaid != o.IsPaid {
			return nil, errs.Errorf(ErrConflict, "is_paid cannot be %t: order %d is %s by its payment", isPaid, id, paidWord(o.IsPaid))
		}
		if paymentLink != nil {
			// The only link an order may carry is its own payment's, on the
			// public gateway, as the payments service announced it.
			switch {
			case !o.PaymentLink.Valid:
				return nil, errs.Errorf(ErrConflict, "order %d has no payment yet, so no payment link", id)
			case *paymentLink != o.PaymentLink.String:
				return nil, errs.Errorf(ErrInvalid, "payment_link must be the link of order %d's own payment, %s", id, o.PaymentLink.String)
			}
		}
		e, err := o.advance(ctx, q, events.OrderUpdated, "payment link confirmed", "")
		return []outbox.Event{e}, err
	})
}

func paidWord(paid bool) string {
	if paid {
		return "paid"
	}
	return "unpaid"
}
