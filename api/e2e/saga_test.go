package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// The original's smoke test: an order gets its items, user, total and a payment link.
func TestOrderSagaCompletes(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "12.00", 5)
	id := s.Order(t, user, product, 2)
	if id == 0 {
		t.Fatal("order not created")
	}
	o := s.Settle(t, 20*time.Second, id)[id]
	if o.Status != "Completed" || o.Items != 1 || o.UserID != user || o.TotalAmount != 24 || !strings.Contains(o.PaymentLink, "http") {
		t.Fatalf("order = %+v", o)
	}
	want := []string{"OrderCreated", "StockDecreased", "PaymentCreated", "SagaCompleted"}
	if !slices.Equal(o.Steps, want) {
		t.Fatalf("steps = %v, want %v", o.Steps, want)
	}
	s.StockSettles(t, product, 3)

	// Paying the payment, at its link's route, marks the order paid.
	path := o.PaymentLink[strings.Index(o.PaymentLink, "/payments/"):]
	card := map[string]any{"cardNumber": "4242424242424242", "cardCode": "123", "expirationDate": "12/40"}
	r := s.Payments.Do(t, "POST", path, card)
	if r.Status != 200 || r.Field("is_paid") != true || r.Int("order_id") != id {
		t.Fatalf("pay: %d %s", r.Status, r.Raw)
	}
	stacktest.Eventually(t, 15*time.Second, "order paid", func() bool {
		o, _ := s.GetOrder(t, id)
		return o.IsPaid
	})
	if r := s.Payments.Do(t, "POST", path, card); r.Status != 409 {
		t.Fatalf("paying twice = %d %s, want 409", r.Status, r.Raw)
	}
	if r := s.Store.Do(t, "DELETE", fmt.Sprintf("/orders/%d", id), nil); r.Status != 409 {
		t.Fatalf("deleting a paid order = %d %s, want 409", r.Status, r.Raw)
	}
}

// Not enough stock: StockDecreaseFailed, then OrderCancelled; stock unchanged.
func TestNotEnoughStockCancels(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "3.00", 4)
	id := s.Order(t, user, product, 5)
	o := s.Settle(t, 20*time.Second, id)[id]
	want := []string{"OrderCreated", "StockDecreaseFailed", "OrderCancelled"}
	if o.Status != "Cancelled" || !slices.Equal(o.Steps, want) || !strings.Contains(o.FailureReason, "not enough stock") {
		t.Fatalf("order = %+v, want cancelled with steps %v", o, want)
	}
	if got := s.Stock(t, product); got != 4 {
		t.Fatalf("stock = %d, want 4 (unchanged)", got)
	}
}

// Payment creation fails (amount over the payments limit): StockIncreased,
// then OrderCancelled; stock restored.
func TestPaymentFailureCompensates(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "6000.00", 10)
	id := s.Order(t, user, product, 2) // 12000.00, over the default limit of 10000.00
	o := s.Settle(t, 20*time.Second, id)[id]
	want := []string{"OrderCreated", "StockDecreased", "PaymentCreationFailed", "StockIncreased", "OrderCancelled"}
	if o.Status != "Cancelled" || !slices.Equal(o.Steps, want) || !strings.Contains(o.FailureReason, "payment") {
		t.Fatalf("order = %+v, want cancelled with steps %v", o, want)
	}
	s.StockSettles(t, product, 10)
}

// 50 concurrent orders for the last 10 units: exactly 10 complete, and stock ends at 0.
func TestConcurrentOrdersForLastUnits(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "1.00", 10)
	ids := make([]int64, 50)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = s.Order(t, user, product, 1)
		}()
	}
	wg.Wait()
	if slices.Contains(ids, 0) {
		t.Fatal("an order was refused")
	}
	completed := 0
	for _, o := range s.Settle(t, 60*time.Second, ids...) {
		if o.Status == "Completed" {
			completed++
		} else if o.Status != "Cancelled" {
			t.Errorf("order in state %s", o.Status)
		}
	}
	if completed != 10 {
		t.Fatalf("%d orders completed, want exactly 10", completed)
	}
	s.StockSettles(t, product, 0)
}
