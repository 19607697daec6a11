// Package reconcile compares what the two services hold about money: each
// payment (the payments database) against its order (the store's), and each
// order that names a payment against that payment. At rest, a captured and
// unrefunded payment belongs to a live order that shows it paid, for the
// same amount; a refunded payment was captured, is refunded in full, and its
// order is cancelled or deleted; an order shows paid only a captured payment
// of its own; a void payment is never paid and its order never shows paid.
// Compare is a pure function of both sides; Reconcile reads them a window
// of order ids at a time and compares each.
package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/store-manager/store-manager/services/platform/money"
)

// Payment is what the payments service holds of one payment.
type Payment struct {
	ID, OrderID int64
	Amount      money.Cents
	Paid        bool
	Void        bool
	Refunded    *money.Cents // the amount given back, once refunded
	Changed     time.Time    // its last change: created, paid, voided or refunded
}

// Order is what the store holds of one order's money.
type Order struct {
	ID        int64
	Amount    money.Cents
	Status    string
	PaymentID int64 // 0: no payment recorded yet
	Paid      bool
	Changed   time.Time
}

// Disagreement is one thing the two databases do not agree on.
type Disagreement struct {
	OrderID   int64  `json:"order_id"`
	PaymentID int64  `json:"payment_id,omitempty"`
	What      string `json:"what"`
}

func (d Disagreement) String() string {
	if d.PaymentID == 0 {
		return fmt.Sprintf("order %d: %s", d.OrderID, d.What)
	}
	return fmt.Sprintf("order %d, payment %d: %s", d.OrderID, d.PaymentID, d.What)
}

// ended are the states of an order whose payment must be refunded if it was
// captured: cancelled, or on its way to cancelled or deleted.
var ended = map[string]bool{"Cancelled": true, "Cancelling": true, "Deleting": true}

// refunded checks a refunded payment p against its order o (ok: o exists).
func refunded(p Payment, o Order, ok bool) []Disagreement {
	var out []Disagreement
	add := func(format string, args ...any) {
		out = append(out, Disagreement{OrderID: p.OrderID, PaymentID: p.ID, What: fmt.Sprintf(format, args...)})
	}
	switch {
	case !p.Paid:
		add("the payment is refunded, and was never captured")
	case *p.Refunded != p.Amount:
		add("the payment of %s is refunded %s", p.Amount, *p.Refunded)
	case ok && !ended[o.Status]:
		add("the payment of %s is refunded, and its order is %s", p.Amount, o.Status)
	case ok && o.Paid:
		add("the payment is refunded, and its order shows it paid")
	}
	return out
}

// Compare returns every disagreement between payments and orders, by order
// id. A payment or an order changed after settled is still in flight (its
// saga's events may not have arrived yet) and is left out, with its pair.
func Compare(payments []Payment, orders []Order, settled time.Time) []Disagreement {
	byOrder := make(map[int64]Order, len(orders))
	for _, o := range orders {
		byOrder[o.ID] = o
	}
	paymentOf := make(map[int64]Payment, len(payments))
	var out []Disagreement
	add := func(order, payment int64, format string, args ...any) {
		out = append(out, Disagreement{OrderID: order, PaymentID: payment, What: fmt.Sprintf(format, args...)})
	}
	for _, p := range payments {
		paymentOf[p.OrderID] = p
		o, ok := byOrder[p.OrderID]
		if p.Changed.After(settled) || ok && o.Changed.After(settled) {
			continue
		}
		if p.Refunded != nil {
			out = append(out, refunded(p, o, ok)...)
			continue
		}
		switch {
		case !ok && p.Paid:
			add(p.OrderID, p.ID, "the payment of %s is captured, and its order does not exist", p.Amount)
		case !ok && !p.Void:
			add(p.OrderID, p.ID, "the payment is open, and its order does not exist")
		case !ok:
		case p.Paid && p.Void:
			add(o.ID, p.ID, "the payment is both captured and void")
		case o.PaymentID != 0 && o.PaymentID != p.ID:
			add(o.ID, p.ID, "the order names payment %d", o.PaymentID)
		case p.Amount != o.Amount:
			add(o.ID, p.ID, "the payment is of %s, the order of %s", p.Amount, o.Amount)
		case p.Paid && !o.Paid:
			add(o.ID, p.ID, "the payment is captured, and the %s order does not show it paid", o.Status)
		case p.Paid && o.Status == "Cancelled":
			add(o.ID, p.ID, "the payment of %s is captured, and its order is cancelled", p.Amount)
		case !p.Paid && o.Paid:
			add(o.ID, p.ID, "the order shows paid, and its payment is not captured")
		}
	}
	for _, o := range orders {
		if o.PaymentID == 0 || o.Changed.After(settled) {
			continue
		}
		if _, ok := paymentOf[o.ID]; !ok {
			add(o.ID, o.PaymentID, "the order names a payment that does not exist")
		}
	}
	slices.SortFunc(out, func(a, b Disagreement) int {
		return cmp.Or(cmp.Compare(a.OrderID, b.OrderID), cmp.Compare(a.PaymentID, b.PaymentID))
	})
	return out
}
