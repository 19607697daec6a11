package reconcile

import (
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/platform/money"
)

func TestCompare(t *testing.T) {
	settled := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	old, recent := settled.Add(-time.Minute), settled.Add(time.Second)
	order := func(id, payment int64, amount int64, status string, paid bool) Order {
		return Order{ID: id, Amount: money.Cents(amount), Status: status, PaymentID: payment, Paid: paid, Changed: old}
	}
	payment := func(id, order int64, amount int64, paid, void bool) Payment {
		return Payment{ID: id, OrderID: order, Amount: money.Cents(amount), Paid: paid, Void: void, Changed: old}
	}
	refund := func(p Payment, amount int64) Payment {
		back := money.Cents(amount)
		p.Refunded = &back
		return p
	}
	cases := []struct {
		name     string
		payments []Payment
		orders   []Order
		want     string // the one disagreement's text, or "" for none
	}{
		{"an open payment of a completed order", []Payment{payment(7, 1, 5000, false, false)}, []Order{order(1, 7, 5000, "Completed", false)}, ""},
		{"a captured payment of a paid order", []Payment{payment(7, 1, 5000, true, false)}, []Order{order(1, 7, 5000, "Completed", true)}, ""},
		{"a void payment of a cancelled order", []Payment{payment(7, 1, 5000, false, true)}, []Order{order(1, 7, 5000, "Cancelled", false)}, ""},
		{"a void payment of a deleted order", []Payment{payment(7, 1, 5000, false, true)}, nil, ""},
		{"an order with no payment yet", nil, []Order{order(1, 0, 5000, "StockDecreased", false)}, ""},
		{"captured, the order deleted", []Payment{payment(7, 1, 5000, true, false)}, nil, "captured, and its order does not exist"},
		{"open, the order deleted", []Payment{payment(7, 1, 5000, false, false)}, nil, "open, and its order does not exist"},
		{"captured, the order cancelled", []Payment{payment(7, 1, 5000, true, false)}, []Order{order(1, 7, 5000, "Cancelled", true)}, "its order is cancelled"},
		{"captured, the order not paid", []Payment{payment(7, 1, 5000, true, false)}, []Order{order(1, 7, 5000, "Completed", false)}, "does not show it paid"},
		{"paid order, open payment", []Payment{payment(7, 1, 5000, false, false)}, []Order{order(1, 7, 5000, "Completed", true)}, "not captured"},
		{"amounts differ", []Payment{payment(7, 1, 4000, false, false)}, []Order{order(1, 7, 5000, "Completed", false)}, "of 40.00, the order of 50.00"},
		{"another payment named", []Payment{payment(7, 1, 5000, false, false)}, []Order{order(1, 8, 5000, "Completed", false)}, "names payment 8"},
		{"captured and void", []Payment{payment(7, 1, 5000, true, true)}, []Order{order(1, 7, 5000, "Completed", true)}, "both captured and void"},
		{"refunded, the order cancelled", []Payment{refund(payment(7, 1, 5000, true, false), 5000)}, []Order{order(1, 0, 5000, "Cancelled", false)}, ""},
		{"refunded, the order deleted", []Payment{refund(payment(7, 1, 5000, true, false), 5000)}, nil, ""},
		{"refunded, the order live", []Payment{refund(payment(7, 1, 5000, true, false), 5000)}, []Order{order(1, 7, 5000, "Completed", false)}, "refunded, and its order is Completed"},
		{"refunded, the order shows paid", []Payment{refund(payment(7, 1, 5000, true, false), 5000)}, []Order{order(1, 7, 5000, "Cancelled", true)}, "shows it paid"},
		{"refunded in part", []Payment{refund(payment(7, 1, 5000, true, false), 4000)}, nil, "of 50.00 is refunded 40.00"},
		{"refunded, never captured", []Payment{refund(payment(7, 1, 5000, false, false), 5000)}, nil, "never captured"},
		{"the named payment is missing", nil, []Order{order(1, 7, 5000, "Completed", false)}, "does not exist"},
		{"in flight: the payment changed lately", []Payment{{ID: 7, OrderID: 1, Amount: 5000, Paid: true, Changed: recent}}, []Order{order(1, 7, 5000, "Completed", false)}, ""},
		{"in flight: the order changed lately", []Payment{payment(7, 1, 5000, true, false)}, []Order{{ID: 1, Amount: 5000, Status: "Completed", PaymentID: 7, Changed: recent}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Compare(tc.payments, tc.orders, settled)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Fatalf("disagreements %v, want none", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0].String(), tc.want)):
				t.Fatalf("disagreements %v, want one saying %q", got, tc.want)
			}
		})
	}
}

// A comparison that is quick runs every interval; a slow one (a large
// history) is followed by a pause that keeps it to 1 % of the time.
func TestPause(t *testing.T) {
	cases := []struct {
		name        string
		every, took time.Duration
		want        time.Duration
	}{
		{"quick", time.Minute, 100 * time.Millisecond, time.Minute - 100*time.Millisecond},
		{"at the share", time.Minute, 600 * time.Millisecond, time.Minute - 600*time.Millisecond},
		{"slow", time.Minute, 2 * time.Second, 198 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := pause(tc.every, tc.took); got != tc.want {
				t.Errorf("pause(%v, %v) = %v, want %v", tc.every, tc.took, got, tc.want)
			}
		})
	}
}
