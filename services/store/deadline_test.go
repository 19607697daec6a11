package store_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/storetest"
)

// With the payments service down, a saga that has not ended by its deadline
// is cancelled: its stock comes back, the order is Cancelled "timed out" with
// the step in its history, and a payment that turns up afterwards changes
// nothing.
func TestSagaPastItsDeadlineIsCancelled(t *testing.T) {
	s := storetest.New(t, storetest.WithoutPayments())
	ctx := context.Background()
	user, err := s.Store.CreateUser(ctx, "Late Buyer", "late@example.com")
	if err != nil {
		t.Fatal(err)
	}
	product, err := s.Store.CreateProduct(ctx, "Kettle", "K-1", "20.00")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.SetStock(ctx, product, 10); err != nil {
		t.Fatal(err)
	}
	id, err := s.Store.CreateOrder(ctx, user, []store.Item{{ProductID: product, Quantity: 3}})
	if err != nil {
		t.Fatal(err)
	}
	state := func(want string) events.Order {
		t.Helper()
		var o events.Order
		stacktest.Eventually(t, 20*time.Second, "order "+want, func() bool {
			o, err = s.Store.Order(ctx, id)
			return err == nil && o.Status == want
		})
		return o
	}
	state(store.StatusStockDecreased) // and no payment will come
	var stockEvent string
	if err := s.StoreDB.QueryRow(`SELECT stock_event_id FROM orders WHERE id = ?`, id).Scan(&stockEvent); err != nil {
		t.Fatal(err)
	}

	expiring, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = s.Store.ExpireSagas(expiring, time.Second, 100*time.Millisecond) }()
	o := state(store.StatusCancelled)
	if o.FailureReason == nil || !strings.Contains(*o.FailureReason, "timed out") || o.Steps[len(o.Steps)-1].Event != events.OrderCancelled {
		t.Fatalf("expired order = %+v", o)
	}
	stacktest.Eventually(t, 10*time.Second, "stock returned", func() bool {
		p, err := s.Store.Product(ctx, product)
		return err == nil && p.Quantity == 10
	})

	// The payment the saga asked for arrives late: it is ignored.
	ignored := testutil.ToFloat64(store.IgnoredEvents.WithLabelValues(events.PaymentCreated))
	payload, _ := json.Marshal(events.PaymentEvent{OrderID: id, PaymentID: 1, TotalAmount: "60.00", PaymentLink: "http://gateway.test/payments/process/1", CausedBy: stockEvent})
	_, err = s.PaymentsDB.Exec(`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, ?, ?)`,
		uuid.NewString(), events.TopicPayments, strconv.FormatInt(id, 10), events.PaymentCreated, payload)
	if err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 10*time.Second, "late payment ignored", func() bool {
		return testutil.ToFloat64(store.IgnoredEvents.WithLabelValues(events.PaymentCreated)) > ignored
	})
	if o, _ := s.Store.Order(ctx, id); o.Status != store.StatusCancelled || o.PaymentID != nil {
		t.Fatalf("a late payment changed the expired order: %+v", o)
	}
}
