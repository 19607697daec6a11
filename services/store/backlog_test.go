package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/storetest"
)

// While as many orders as allowed are under way (here their payment step
// is held back), a new order is refused with ErrBusy (a 503) before any of
// its work; once they end, orders are taken again.
func TestOrdersRefusedWhileTooManyAreUnderWay(t *testing.T) {
	ctx := context.Background()
	s := storetest.New(t, storetest.WithoutPayments())
	user, err := s.Store.CreateUser(ctx, "Backlog", "backlog-"+stacktest.Suffix()+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	product, err := s.Store.CreateProduct(ctx, "Backlog", "BACKLOG-"+stacktest.Suffix(), "1.00")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.SetStock(ctx, product, 100); err != nil {
		t.Fatal(err)
	}
	const limit = 3
	s.Store.LimitOpenOrders(limit)
	accepted := 0
	stacktest.Eventually(t, 10*time.Second, "a new order refused", func() bool {
		_, err := s.Store.CreateOrder(ctx, user, []store.Item{{ProductID: product, Quantity: 1}})
		switch {
		case errors.Is(err, store.ErrBusy):
			return true
		case err != nil:
			t.Fatal(err)
		}
		accepted++
		time.Sleep(20 * time.Millisecond)
		return false
	})
	if accepted < limit {
		t.Fatalf("refused after %d orders, want at least %d taken", accepted, limit)
	}
	s.PaymentsStep.Open()
	stacktest.Eventually(t, 20*time.Second, "orders taken again", func() bool {
		_, err := s.Store.CreateOrder(ctx, user, []store.Item{{ProductID: product, Quantity: 1}})
		if err != nil && !errors.Is(err, store.ErrBusy) {
			t.Fatal(err)
		}
		return err == nil
	})
}
