package reconcile

import (
	"context"
	"database/sql"
	"fmt"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/money"
)

// page is how many rows Read fetches per statement.
const page = 1000

// Read fetches every payment and every order's money, a page at a time in
// id order. The payments are read first: a payment created meanwhile is
// then missing from this run, never its order.
func Read(ctx context.Context, payments *paymentsdb.Queries, orders *storedb.Queries) ([]Payment, []Order, error) {
	var ps []Payment
	err := pages(func(after int64) ([]paymentsdb.ListPaymentsAfterRow, error) {
		return payments.ListPaymentsAfter(ctx, paymentsdb.ListPaymentsAfterParams{ID: after, Limit: page})
	}, func(r paymentsdb.ListPaymentsAfterRow) (int64, error) {
		amount, err := money.Parse(r.TotalAmount)
		if err != nil {
			return 0, fmt.Errorf("payment %d: amount %q: %w", r.ID, r.TotalAmount, err)
		}
		changed := r.CreatedAt
		if r.PaidAt.Valid && r.PaidAt.Time.After(changed) {
			changed = r.PaidAt.Time
		}
		for _, at := range []sql.NullTime{r.VoidedAt, r.RefundedAt} {
			if at.Valid && at.Time.After(changed) {
				changed = at.Time
			}
		}
		p := Payment{ID: r.ID, OrderID: r.OrderID, Amount: amount, Paid: r.IsPaid, Void: r.VoidedAt.Valid, Changed: changed}
		if r.RefundedAt.Valid {
			back, err := money.Parse(r.RefundedAmount.String)
			if err != nil {
				return 0, fmt.Errorf("payment %d: refunded amount %q: %w", r.ID, r.RefundedAmount.String, err)
			}
			p.Refunded = &back
		}
		ps = append(ps, p)
		return r.ID, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read payments: %w", err)
	}
	var os []Order
	err = pages(func(after int64) ([]storedb.ListOrderMoneyAfterRow, error) {
		return orders.ListOrderMoneyAfter(ctx, storedb.ListOrderMoneyAfterParams{ID: after, Limit: page})
	}, func(r storedb.ListOrderMoneyAfterRow) (int64, error) {
		amount, err := money.Parse(r.TotalAmount)
		if err != nil {
			return 0, fmt.Errorf("order %d: amount %q: %w", r.ID, r.TotalAmount, err)
		}
		os = append(os, Order{ID: r.ID, Amount: amount, Status: r.Status, PaymentID: r.PaymentID.Int64, Paid: r.IsPaid, Changed: r.UpdatedAt})
		return r.ID, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read orders: %w", err)
	}
	return ps, os, nil
}

// pages fetches the pages of rows after each last id until one comes back
// short, and hands each row to take, which returns its id.
func pages[R any](fetch func(after int64) ([]R, error), take func(R) (int64, error)) error {
	for after := int64(0); ; {
		rows, err := fetch(after)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if after, err = take(r); err != nil {
				return err
			}
		}
		if len(rows) < page {
			return nil
		}
	}
}
