package reconcile

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/platform/money"
)

// pagesOf serves rows as a paged table does: at most size rows with a key
// above after, in key order; it counts the pages served.
func pagesOf[T any](rows []T, key func(T) int64, size int, served *int) func(int64) ([]T, error) {
	return func(after int64) ([]T, error) {
		*served++
		i, _ := slices.BinarySearchFunc(rows, after+1, func(r T, k int64) int { return cmp.Compare(key(r), k) })
		return slices.Clone(rows[i:min(len(rows), i+size)]), nil
	}
}

// Windows of any page size compare the same as one comparison of
// everything, hand every row out once, keep a payment with its order, and
// never hold more than a page of either side.
func TestWindowsCompareAsAWhole(t *testing.T) {
	settled := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	old := settled.Add(-time.Minute)
	var ps []Payment
	var os []Order
	for id := int64(1); id <= 40; id++ {
		p := Payment{ID: 100 + id, OrderID: id, Amount: money.Cents(1000 * id), Paid: id%3 == 0, Changed: old}
		o := Order{ID: id, Amount: p.Amount, Status: "Completed", PaymentID: p.ID, Paid: p.Paid, Changed: old}
		switch {
		case id%7 == 0: // deleted: its payment stays
			ps = append(ps, p)
			continue
		case id%5 == 0: // no payment yet
			o.PaymentID = 0
		case id%11 == 0: // disagree: the payment is captured, the order does not show it
			p.Paid, o.Paid = true, false
			ps = append(ps, p)
		case id%13 == 0: // disagree: the order names a payment that is missing
		default:
			ps = append(ps, p)
		}
		os = append(os, o)
	}
	// Payments of orders past the last one, and a run of orders with none.
	ps = append(ps, Payment{ID: 200, OrderID: 45, Amount: 500, Paid: true, Changed: old})
	for id := int64(50); id <= 55; id++ {
		os = append(os, Order{ID: id, Amount: 700, Status: "Pending", Changed: old})
	}
	whole := Compare(ps, os, settled)
	if len(whole) < 4 {
		t.Fatalf("the fixture has %d disagreements: it no longer covers them", len(whole))
	}
	for _, size := range []int{1, 2, 3, 7, 1000} {
		t.Run(fmt.Sprintf("page of %d", size), func(t *testing.T) {
			var paymentPages, orderPages int
			pc := &cursor[Payment]{key: func(p Payment) int64 { return p.OrderID }}
			pc.fetch = pagesOf(ps, pc.key, size, &paymentPages)
			oc := &cursor[Order]{key: func(o Order) int64 { return o.ID }}
			oc.fetch = pagesOf(os, oc.key, size, &orderPages)
			var got []Disagreement
			var seenP []Payment
			var seenO []Order
			err := windows(size, pc, oc, func(wp []Payment, wo []Order) {
				if len(wp) > size || len(wo) > size {
					t.Errorf("a window of %d payments and %d orders, past a page of %d", len(wp), len(wo), size)
				}
				for _, p := range wp {
					if i := slices.IndexFunc(os, func(o Order) bool { return o.ID == p.OrderID }); i >= 0 &&
						!slices.ContainsFunc(wo, func(o Order) bool { return o.ID == p.OrderID }) {
						t.Errorf("payment %d is in a window without its order %d", p.ID, p.OrderID)
					}
				}
				seenP, seenO = append(seenP, wp...), append(seenO, wo...)
				got = append(got, Compare(wp, wo, settled)...)
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(seenP, ps, func(a, b Payment) bool { return a.ID == b.ID }) ||
				!slices.EqualFunc(seenO, os, func(a, b Order) bool { return a.ID == b.ID }) {
				t.Errorf("handed out %d payments and %d orders, want each of %d and %d once, in order", len(seenP), len(seenO), len(ps), len(os))
			}
			if !slices.Equal(got, whole) {
				t.Errorf("windows found %v, the whole comparison %v", got, whole)
			}
			if want := len(ps)/size + 1; paymentPages > want {
				t.Errorf("%d pages of payments read, want %d", paymentPages, want)
			}
		})
	}
}

// A failed read ends the windows with its error.
func TestWindowsStopAtAReadError(t *testing.T) {
	broken := errors.New("connection lost")
	pc := &cursor[Payment]{key: func(p Payment) int64 { return p.OrderID }, fetch: func(int64) ([]Payment, error) { return nil, broken }}
	oc := &cursor[Order]{key: func(o Order) int64 { return o.ID }, fetch: func(int64) ([]Order, error) { return []Order{{ID: 1}}, nil }}
	called := false
	err := windows(10, pc, oc, func([]Payment, []Order) { called = true })
	if !errors.Is(err, broken) || called {
		t.Fatalf("windows = %v (fn called: %v), want the read error before any window", err, called)
	}
}
