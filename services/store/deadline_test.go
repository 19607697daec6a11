package store_test

import (
	"context"
	"encoding/json"
	"slices"
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
// is being cancelled: "timed out", its stock still held, until payments
// comes back, creates the payment it owed and voids it in answer. Then the
// order is Cancelled with every step in its history, its stock comes back,
// and a payment event that turns up afterwards changes nothing and is
// recorded as an incident.
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
	o := state(store.StatusCancelling)
	if o.FailureReason == nil || !strings.Contains(*o.FailureReason, "timed out") {
		t.Fatalf("expiring order = %+v", o)
	}
	if p, err := s.Store.Product(ctx, product); err != nil || p.Quantity != 7 {
		t.Fatalf("stock while the order waits for payments = %+v %v, want 7", p, err)
	}

	s.PaymentsStep.Open() // payments is back
	o = state(store.StatusCancelled)
	var steps []string
	for _, st := range o.Steps {
		steps = append(steps, st.Event)
	}
	want := []string{events.OrderCreated, events.StockDecreased, events.OrderCancelling, events.PaymentVoided, events.OrderCancelled}
	if !slices.Equal(steps, want) || o.Steps[3].Detail != "payment "+strconv.FormatInt(paymentOf(t, s, id), 10)+" voided" {
		t.Fatalf("steps %v (%+v), want %v", steps, o.Steps, want)
	}
	var void bool
	if err := s.PaymentsDB.QueryRow(`SELECT voided_at IS NOT NULL FROM payments WHERE order_id = ?`, id).Scan(&void); err != nil || !void {
		t.Fatalf("the order's payment is not void: %v", err)
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
	var incidents int
	err = s.StoreDB.QueryRow(`SELECT COUNT(*) FROM incidents WHERE order_id = ? AND event_type = ? AND resolved_at IS NULL`, id, events.PaymentCreated).Scan(&incidents)
	if err != nil || incidents != 1 {
		t.Fatalf("incidents for the late payment = %d, %v; want 1", incidents, err)
	}
}

// paymentOf is the id of the payment the payments service holds for an order.
func paymentOf(t *testing.T, s storetest.System, orderID int64) int64 {
	t.Helper()
	var id int64
	if err := s.PaymentsDB.QueryRow(`SELECT id FROM payments WHERE order_id = ?`, orderID).Scan(&id); err != nil {
		t.Fatalf("payment of order %d: %v", orderID, err)
	}
	return id
}
