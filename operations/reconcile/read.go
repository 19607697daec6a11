package reconcile

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/money"
)

// page is how many rows each side reads per statement.
const page = 1000

// Reconcile compares every payment with its order (Compare), a window of
// order ids at a time (windows): it reads the payments (by their order id)
// and the orders (by id) a page at a time, so what it holds stays within a
// page or two of each side however many orders there are. A payment or an
// order that changes while it runs changes after settled, so it is left out
// with its pair, whichever of the two was read first.
func Reconcile(ctx context.Context, payments *paymentsdb.Queries, orders *storedb.Queries, settled time.Time) ([]Disagreement, error) {
	ps := &cursor[Payment]{key: func(p Payment) int64 { return p.OrderID }, fetch: func(after int64) ([]Payment, error) {
		rows, err := payments.ListPaymentsAfterOrder(ctx, paymentsdb.ListPaymentsAfterOrderParams{OrderID: after, Limit: page})
		if err != nil {
			return nil, fmt.Errorf("read payments: %w", err)
		}
		return convert(rows, paymentOf)
	}}
	os := &cursor[Order]{key: func(o Order) int64 { return o.ID }, fetch: func(after int64) ([]Order, error) {
		rows, err := orders.ListOrderMoneyAfter(ctx, storedb.ListOrderMoneyAfterParams{ID: after, Limit: page})
		if err != nil {
			return nil, fmt.Errorf("read orders: %w", err)
		}
		return convert(rows, orderOf)
	}}
	var out []Disagreement
	err := windows(page, ps, os, func(wp []Payment, wo []Order) {
		out = append(out, Compare(wp, wo, settled)...)
	})
	return out, err
}

// convert turns each row into what Compare sees.
func convert[R, T any](rows []R, of func(R) (T, error)) ([]T, error) {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		v, err := of(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// orderOf is an order row as Compare sees it.
func orderOf(r storedb.ListOrderMoneyAfterRow) (Order, error) {
	amount, err := money.Parse(r.TotalAmount)
	if err != nil {
		return Order{}, fmt.Errorf("order %d: amount %q: %w", r.ID, r.TotalAmount, err)
	}
	return Order{ID: r.ID, Amount: amount, Status: r.Status, PaymentID: r.PaymentID.Int64, Paid: r.IsPaid, Changed: r.UpdatedAt}, nil
}

// paymentOf is a payment row as Compare sees it.
func paymentOf(r paymentsdb.ListPaymentsAfterOrderRow) (Payment, error) {
	amount, err := money.Parse(r.TotalAmount)
	if err != nil {
		return Payment{}, fmt.Errorf("payment %d: amount %q: %w", r.ID, r.TotalAmount, err)
	}
	changed := r.CreatedAt
	for _, at := range []sql.NullTime{r.PaidAt, r.VoidedAt, r.RefundedAt} {
		if at.Valid && at.Time.After(changed) {
			changed = at.Time
		}
	}
	p := Payment{ID: r.ID, OrderID: r.OrderID, Amount: amount, Paid: r.IsPaid, Void: r.VoidedAt.Valid, Changed: changed}
	if r.RefundedAt.Valid {
		back, err := money.Parse(r.RefundedAmount.String)
		if err != nil {
			return Payment{}, fmt.Errorf("payment %d: refunded amount %q: %w", r.ID, r.RefundedAmount.String, err)
		}
		p.Refunded = &back
	}
	return p, nil
}

// windows merges the two sides, read size rows at a time in ascending order
// id, into windows that end at the lower of the two sides' last ids read:
// everything up to it has been read on both sides. The side that ends the
// window is used up by it and read further; the other keeps the rest of its
// page for the next window.
func windows(size int, ps *cursor[Payment], os *cursor[Order], fn func([]Payment, []Order)) error {
	for {
		if err := ps.fill(size); err != nil {
			return err
		}
		if err := os.fill(size); err != nil {
			return err
		}
		if len(ps.buf) == 0 && len(os.buf) == 0 {
			return nil
		}
		end := min(ps.last(), os.last())
		fn(ps.take(end), os.take(end))
	}
}

// cursor reads one side a page at a time, in ascending key order.
type cursor[T any] struct {
	fetch func(after int64) ([]T, error) // at most a page of rows with a key above after
	key   func(T) int64
	buf   []T   // read and not yet handed out
	after int64 // the last key read
	done  bool  // a short page was read: there is nothing more
}

// fill reads the next page once the last one is handed out.
func (c *cursor[T]) fill(size int) error {
	if len(c.buf) > 0 || c.done {
		return nil
	}
	rows, err := c.fetch(c.after)
	if err != nil {
		return err
	}
	c.buf, c.done = rows, len(rows) < size
	if len(rows) > 0 {
		c.after = c.key(rows[len(rows)-1])
	}
	return nil
}

// last is the highest key up to which this side is read in full.
func (c *cursor[T]) last() int64 {
	if c.done {
		return math.MaxInt64
	}
	return c.after
}

// take hands out the rows read with a key up to end.
func (c *cursor[T]) take(end int64) []T {
	n := 0
	for n < len(c.buf) && c.key(c.buf[n]) <= end {
		n++
	}
	out := c.buf[:n:n]
	c.buf = c.buf[n:]
	return out
}
