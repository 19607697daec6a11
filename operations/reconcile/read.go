package reconcile

import (
	"context"
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
	for after := int64(0); ; {
		rows, err := payments.ListPaymentsAfter(ctx, paymentsdb.ListPaymentsAfterParams{ID: after, Limit: page})
		if err != nil {
			return nil, nil, fmt.Errorf("read payments: %w", err)
		}
		for _, r := range rows {
			amount, err := money.Parse(r.TotalAmount)
			if err != nil {
				return nil, nil, fmt.Errorf("payment %d: amount %q: %w", r.ID, r.TotalAmount, err)
			}
			changed := r.CreatedAt
			if r.PaidAt.Valid && r.PaidAt.Time.After(changed) {
				changed = r.PaidAt.Time
			}
			if r.VoidedAt.Valid && r.VoidedAt.Time.After(changed) {
				changed = r.VoidedAt.Time
			}
			ps = append(ps, Payment{ID: r.ID, OrderID: r.OrderID, Amount: amount, Paid: r.IsPaid, Void: r.VoidedAt.Valid, Changed: changed})
			after = r.ID
		}
		if len(rows) < page {
			break
		}
	}
	var all []Order
	for after := int64(0); ; {
		rows, err := orders.ListOrderMoneyAfter(ctx, storedb.ListOrderMoneyAfterParams{ID: after, Limit: page})
		if err != nil {
			return nil, nil, fmt.Errorf("read orders: %w", err)
		}
		for _, r := range rows {
			amount, err := money.Parse(r.TotalAmount)
			if err != nil {
				return nil, nil, fmt.Errorf("order %d: amount %q: %w", r.ID, r.TotalAmount, err)
			}
			all = append(all, Order{ID: r.ID, Amount: amount, Status: r.Status, PaymentID: r.PaymentID.Int64, Paid: r.IsPaid, Changed: r.UpdatedAt})
			after = r.ID
		}
		if len(rows) < page {
			break
		}
	}
	return ps, all, nil
}
