package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/operations/reconcile"
	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/storetest"
)

// Pay against delete, and pay against the saga's deadline, in both orders
// and at once, with the payment's events reaching the store late (the
// window of the original race) or as they come: whatever the interleaving,
// at rest every captured and unrefunded payment belongs to a live order
// that shows it paid for the same amount, every refunded payment's order is
// cancelled or deleted, no order is paid twice, and the stock of every
// order that did not go through comes back.
func TestMoneyHoldsWhateverTheInterleaving(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	user, err := s.Store.CreateUser(ctx, "Racer", "racer@example.com")
	if err != nil {
		t.Fatal(err)
	}
	product, err := s.Store.CreateProduct(ctx, "Stopwatch", "RACE-1", "12.50")
	if err != nil {
		t.Fatal(err)
	}
	const stock = 1000
	if _, err := s.Store.SetStock(ctx, product, stock); err != nil {
		t.Fatal(err)
	}
	card := payments.Card{Number: "4242424242424242", Code: "123", Expiration: "12/40"}
	pay := func(id int64) error { _, err := s.Payments.Process(ctx, id, card); return err }
	del := func(id int64) error { _, _, err := s.Store.DeleteOrder(ctx, id); return err }
	expire := func(int64) error { return s.Store.ExpireOverdue(ctx, 0) }

	// settled waits until payments has voided or refunded the payment,
	// paid until the store shows the order paid, then they act.
	settled := func(f func(int64) error) func(int64) error {
		return func(payment int64) error {
			stacktest.Eventually(t, 10*time.Second, "the payment settled", func() bool {
				p, err := s.Payments.Payment(ctx, payment)
				return err == nil && (p.IsVoid || p.Refund != nil)
			})
			return f(payment)
		}
	}
	paid := func(f func(int64) error) func(int64) error {
		return func(order int64) error {
			stacktest.Eventually(t, 10*time.Second, "the order paid", func() bool {
				o, err := s.Store.Order(ctx, order)
				return err == nil && o.IsPaid
			})
			return f(order)
		}
	}
	const (
		deletedRefunded   = "order deleted, payment refunded"
		deletedVoid       = "order deleted, payment void"
		cancelledRefunded = "order Cancelled, payment refunded"
		cancelledVoid     = "order Cancelled, payment void"
		completedCaptured = "order Completed, payment captured"
	)
	type action = func(order, payment int64) error
	onPayment := func(f func(int64) error) action { return func(_, p int64) error { return f(p) } }
	onOrder := func(f func(int64) error) action { return func(o, _ int64) error { return f(o) } }
	cases := []struct {
		name string
		// late: the store has not heard of the payment when the race starts
		// (it waits at StockDecreased, or Completed and unpaid); otherwise its
		// events flow as they come.
		late     bool
		first    action
		second   action
		parallel bool
		want     string // how every round must end, when the order of the steps decides it
	}{
		{"pay, then delete, the payment unknown to the store", true, onPayment(pay), onOrder(del), false, deletedRefunded},
		{"delete, then pay, the payment unknown to the store", true, onOrder(del), onPayment(pay), false, ""},
		{"delete, then pay once payments has voided", true, onOrder(del), onPayment(settled(pay)), false, deletedVoid},
		{"pay and delete at once, the payment unknown to the store", true, onPayment(pay), onOrder(del), true, ""},
		{"pay, then delete", false, onPayment(pay), onOrder(del), false, ""},
		{"pay, then delete once the store knows it paid", false, onPayment(pay), onOrder(paid(del)), false, completedCaptured},
		{"pay and delete at once", false, onPayment(pay), onOrder(del), true, ""},
		{"pay, then the deadline", true, onPayment(pay), onOrder(expire), false, cancelledRefunded},
		{"the deadline, then pay", true, onOrder(expire), onPayment(pay), false, ""},
		{"the deadline, then pay once payments has voided", true, onOrder(expire), onPayment(settled(pay)), false, cancelledVoid},
		{"pay and the deadline at once", true, onPayment(pay), onOrder(expire), true, ""},
	}
	const rounds = 4
	var kept int32 // units of the orders that went through
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			outcomes := map[string]int{}
			defer func() { t.Logf("outcomes: %v", outcomes) }()
			for round := range rounds {
				order, payment := paidForOrder(t, s, user, product, tc.late)
				run := func(a action) error {
					err := a(order, payment)
					if err != nil && !errors.Is(err, errs.Conflict) && !errors.Is(err, errs.NotFound) {
						t.Errorf("round %d: %v", round, err)
					}
					return err
				}
				if tc.parallel {
					var wg sync.WaitGroup
					wg.Add(2)
					go func() { defer wg.Done(); _ = run(tc.first) }()
					go func() { defer wg.Done(); _ = run(tc.second) }()
					wg.Wait()
				} else {
					_ = run(tc.first)
					_ = run(tc.second)
				}
				s.PaymentAnswers.Open()
				states := settle(t, s)
				if states[order] == store.StatusCompleted {
					kept++
				}
				p, err := s.Payments.Payment(ctx, payment)
				if err != nil {
					t.Fatal(err)
				}
				outcome := fmt.Sprintf("order %s, payment %s", stateOr(states[order], "deleted"), paymentState(p))
				if tc.want != "" && outcome != tc.want {
					t.Fatalf("round %d: %s (%+v); want %s", round, outcome, p, tc.want)
				}
				if p.Refund != nil && p.Refund.Amount != "12.50" {
					t.Fatalf("round %d: refunded %s of 12.50", round, p.Refund.Amount)
				}
				outcomes[outcome]++
			}
		})
	}
	moneyAgrees(t, s, time.Now())
	var left int32
	if err := s.StoreDB.QueryRow(`SELECT quantity FROM stocks WHERE product_id = ?`, product).Scan(&left); err != nil || left != stock-kept {
		t.Fatalf("stock = %d %v, want %d: %d orders went through", left, err, stock-kept, kept)
	}
}

// stateOr is an order's state, or otherwise when it has none (it is deleted).
func stateOr(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func paymentState(p payments.Payment) string {
	switch {
	case p.Refund != nil:
		return "refunded"
	case p.IsVoid:
		return "void"
	case p.IsPaid:
		return "captured"
	}
	return "open"
}

// paidForOrder creates an order of one unit and waits until the payments
// service holds its payment. With late, the payment's events are held back
// from the store from the start, so the store has not heard of the payment.
func paidForOrder(t *testing.T, s storetest.System, user, product int64, late bool) (order, payment int64) {
	t.Helper()
	if late {
		s.PaymentAnswers.Close()
	}
	order, err := s.Store.CreateOrder(context.Background(), user, []store.Item{{ProductID: product, Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 10*time.Second, "the order's payment", func() bool {
		return s.PaymentsDB.QueryRow(`SELECT id FROM payments WHERE order_id = ?`, order).Scan(&payment) == nil
	})
	if !late {
		stacktest.Eventually(t, 10*time.Second, "the order completed", func() bool {
			o, err := s.Store.Order(context.Background(), order)
			return err == nil && o.Status == store.StatusCompleted
		})
	}
	return order, payment
}

// settle waits until no saga is under way and the two databases agree, and
// returns every order's state.
func settle(t *testing.T, s storetest.System) map[int64]string {
	t.Helper()
	var states map[int64]string
	var found []reconcile.Disagreement
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var ended bool
		states, ended = orderStates(t, s)
		if found = compare(t, s, time.Now()); ended && len(found) == 0 {
			return states
		}
		if time.Now().After(deadline) {
			t.Fatalf("not at rest within 20s: orders %v, disagreements:\n%s", states, joinLines(found))
		}
	}
}

// orderStates reads every order's state, and whether every saga has ended.
func orderStates(t *testing.T, s storetest.System) (map[int64]string, bool) {
	t.Helper()
	rows, err := s.StoreDB.Query(`SELECT id, status FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	states, ended := map[int64]string{}, true
	for rows.Next() {
		var id int64
		var status string
		if err := rows.Scan(&id, &status); err != nil {
			t.Fatal(err)
		}
		states[id] = status
		ended = ended && (status == store.StatusCompleted || status == store.StatusCancelled)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return states, ended
}

// moneyAgrees fails the test on any disagreement between the two
// databases among what changed before settled.
func moneyAgrees(t *testing.T, s storetest.System, settled time.Time) {
	t.Helper()
	if found := compare(t, s, settled); len(found) > 0 {
		t.Fatalf("payments and orders disagree:\n%s", joinLines(found))
	}
	var twice int
	if err := s.PaymentsDB.QueryRow(`SELECT COUNT(*) FROM (SELECT order_id FROM payments WHERE is_paid GROUP BY order_id HAVING COUNT(*) > 1) d`).Scan(&twice); err != nil || twice != 0 {
		t.Fatalf("orders paid twice: %d %v", twice, err)
	}
}

func compare(t *testing.T, s storetest.System, settled time.Time) []reconcile.Disagreement {
	t.Helper()
	found, err := reconcile.Reconcile(context.Background(), paymentsdb.New(s.PaymentsDB), storedb.New(s.StoreDB), settled)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return found
}

func joinLines(ds []reconcile.Disagreement) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}
