package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/store-manager/store-manager/api/paymentsapi"
	"github.com/store-manager/store-manager/api/storeapi"
	"github.com/store-manager/store-manager/operations/sagareport"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

var card = map[string]any{"cardNumber": "4242424242424242", "cardCode": "123", "expirationDate": "12/40"}

func trustedService() *stacktest.Client {
	return systemkit.WithKey(paymentsapi.ServiceKeyHeader, config.Env("PAYMENTS_SERVICE_KEY", paymentsapi.LocalServiceKey))
}

// completedOrder places an order of total 50.00 and waits for its payment.
func completedOrder(t *testing.T, s systemkit.System) (user, id int64, o systemkit.Order) {
	t.Helper()
	user, product := s.User(t), s.Product(t, "25.00", 10)
	id = s.Order(t, user, product, 2)
	o = s.Settle(t, 20*time.Second, id)[id]
	if o.Status != "Completed" || o.PaymentID == 0 {
		t.Fatalf("order = %+v, want Completed with a payment", o)
	}
	return user, id, o
}

// The forged payment of the review: anonymous clients cannot create a
// payment through the gateway, a trusted service cannot create one for
// another amount or an unknown systemkit.Order, and the order's own payment is the
// saga's, for the order's total.
func TestForgedPaymentIsRefused(t *testing.T) {
	s := systemkit.New(t)
	user, id, o := completedOrder(t, s)
	forged := map[string]any{"user_id": user, "order_id": id, "total_amount": 0.01}
	for _, path := range []string{"/payments", "/payments-api/payments"} {
		if r := stacktest.NewClient(systemkit.GatewayURL()).Do(t, "POST", path, forged); r.Status != 401 || r.Field("error") == nil {
			t.Fatalf("anonymous POST %s = %d %s, want 401", path, r.Status, r.Raw)
		}
	}
	if r := systemkit.WithKey(paymentsapi.ServiceKeyHeader, "guess").Do(t, "POST", "/payments", forged); r.Status != 403 {
		t.Fatalf("POST /payments with a wrong key = %d %s, want 403", r.Status, r.Raw)
	}
	svc := trustedService()
	if r := svc.Do(t, "POST", "/payments", forged); r.Status != 422 {
		t.Fatalf("a trusted service paying 0.01 for a 50.00 order = %d %s, want 422", r.Status, r.Raw)
	}
	forged["total_amount"] = 50
	if r := svc.Do(t, "POST", "/payments", forged); r.Status != 409 {
		t.Fatalf("a second payment for the order = %d %s, want 409", r.Status, r.Raw)
	}
	if r := svc.Do(t, "POST", "/payments-api/payments", map[string]any{"user_id": user, "order_id": 999999999, "total_amount": 1}); r.Status != 404 {
		t.Fatalf("a payment for an unknown order = %d %s, want 404", r.Status, r.Raw)
	}
	r := s.Payments.Do(t, "GET", fmt.Sprintf("/payments/%d", o.PaymentID), nil)
	if r.Status != 200 || r.Int("order_id") != id || fmt.Sprint(r.Field("total_amount")) != "50" {
		t.Fatalf("the order's payment = %d %s, want 50.00 for order %d", r.Status, r.Raw, id)
	}
	// The original's gateway route pays it.
	if r := s.Payments.Do(t, "POST", fmt.Sprintf("/payments-api/payments/%d", o.PaymentID), card); r.Status != 200 || r.Field("is_paid") != true {
		t.Fatalf("paying at the original's route = %d %s", r.Status, r.Raw)
	}
	stacktest.Eventually(t, 15*time.Second, "order paid", func() bool {
		o, _ := s.GetOrder(t, id)
		return o.IsPaid
	})
}

// Payment events that do not match their order are ignored, logged, counted
// and recorded as incidents that storectl lists (and status reports) until
// an operator resolves them: a PaymentCreated not caused by the order's
// StockDecreased or for another amount, a PaymentProcessed for a payment
// that is not the order's own or for a cancelled order, and a refund of a
// live order.
func TestMismatchedPaymentEventsAreIgnored(t *testing.T) {
	s := systemkit.New(t)
	_, completed, o := completedOrder(t, s)
	user, product := s.User(t), s.Product(t, "3.00", 1)
	cancelled := s.Order(t, user, product, 2) // not enough stock
	if c := s.Settle(t, 20*time.Second, cancelled)[cancelled]; c.Status != "Cancelled" {
		t.Fatalf("order = %+v, want Cancelled", c)
	}
	forged := []struct {
		typ     string
		payload events.PaymentEvent
	}{
		{events.PaymentProcessed, events.PaymentEvent{OrderID: completed, PaymentID: o.PaymentID + 1_000_000, TotalAmount: "50.00"}},
		{events.PaymentProcessed, events.PaymentEvent{OrderID: completed, PaymentID: o.PaymentID, TotalAmount: "0.01"}},
		{events.PaymentCreated, events.PaymentEvent{OrderID: cancelled, PaymentID: 1, TotalAmount: "6.00", PaymentLink: "http://x/1", CausedBy: uuid.NewString()}},
		{events.PaymentProcessed, events.PaymentEvent{OrderID: cancelled, PaymentID: 1, TotalAmount: "6.00"}},
		{events.PaymentRefunded, events.PaymentEvent{OrderID: completed, PaymentID: o.PaymentID, TotalAmount: "50.00", CausedBy: uuid.NewString()}},
	}
	before := ignoredEvents(t)
	injected := map[string]bool{}
	for _, f := range forged {
		injected[injectPaymentEvent(t, f.typ, f.payload)] = true
	}
	t.Cleanup(func() { resolveIncidents(t, injected) })
	stacktest.Eventually(t, 20*time.Second, "the forged events counted as ignored", func() bool {
		return ignoredEvents(t)-before >= float64(len(forged))
	})
	for _, id := range []int64{completed, cancelled} {
		got, _ := s.GetOrder(t, id)
		if got.IsPaid {
			t.Fatalf("order %d became paid through a forged event: %+v", id, got)
		}
	}
	if got, _ := s.GetOrder(t, cancelled); got.Status != "Cancelled" || got.PaymentID != 0 {
		t.Fatalf("cancelled order changed: %+v", got)
	}
	open := openIncidents(t)
	found := 0
	for _, i := range open {
		if injected[i.EventID] {
			found++
		}
	}
	if found != len(forged) {
		t.Fatalf("open incidents %+v: %d of the %d forged events", open, found, len(forged))
	}
	status, _ := exec.Command(systemkit.Bin("storectl"), "status").CombinedOutput()
	if !strings.Contains(string(status), "UNHEALTHY") || !strings.Contains(string(status), "PaymentRefunded") {
		t.Fatalf("storectl status with open incidents:\n%s", status)
	}
}

// openIncidents lists the instance's open money incidents, as storectl does.
func openIncidents(t *testing.T) []sagareport.Incident {
	t.Helper()
	out, err := exec.Command(systemkit.Bin("storectl"), "incidents", "--json").Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) { // it exits 1 while incidents are open
		t.Fatalf("storectl incidents: %v", err)
	}
	var open []sagareport.Incident
	if err := json.Unmarshal(out, &open); err != nil {
		t.Fatalf("storectl incidents: %v: %s", err, out)
	}
	return open
}

// resolveIncidents resolves, with storectl, the open incidents of the events
// a test injected.
func resolveIncidents(t *testing.T, injected map[string]bool) {
	t.Helper()
	for _, i := range openIncidents(t) {
		if !injected[i.EventID] {
			continue
		}
		out, err := exec.Command(systemkit.Bin("storectl"), "incidents", "resolve", strconv.FormatInt(i.ID, 10), "injected by", t.Name()).CombinedOutput()
		if err != nil {
			t.Errorf("storectl incidents resolve %d: %v: %s", i.ID, err, out)
		}
	}
}

// injectPaymentEvent writes an event into the payments outbox, as a bug or
// an intruder in the payments service could: Debezium relays it to the
// store. It returns the event's id.
func injectPaymentEvent(t *testing.T, typ string, p events.PaymentEvent) string {
	t.Helper()
	payload, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	db := stacktest.Open(t, stacktest.Stack(t).PaymentsDSN)
	id := uuid.NewString()
	_, err = db.Exec("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, ?, ?)",
		id, events.TopicPayments, strconv.FormatInt(p.OrderID, 10), typ, payload)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// ignoredEvents reads store-manager's count of ignored saga events.
func ignoredEvents(t *testing.T) float64 {
	t.Helper()
	resp, err := http.Get(systemkit.Instance().StoreURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "store_saga_events_ignored_total{") {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			total += v
		}
	}
	return total
}

// A completed order may have been paid a moment ago: deleting it answers
// 202, Deleting, and it is gone once the payments service has voided its
// payment, which cannot be paid any more.
func TestDeletedOrderCannotBePaid(t *testing.T) {
	s := systemkit.New(t)
	_, id, o := completedOrder(t, s)
	if r := s.Store.Do(t, "DELETE", fmt.Sprintf("/orders/%d", id), nil); r.Status != 202 || r.Field("status") != "Deleting" {
		t.Fatalf("delete order: %d %s, want 202 Deleting", r.Status, r.Raw)
	}
	stacktest.Eventually(t, 20*time.Second, "order gone", func() bool {
		_, status := s.GetOrder(t, id)
		return status == 404
	})
	stacktest.Eventually(t, 20*time.Second, "payment void", func() bool {
		r := s.Payments.Do(t, "GET", fmt.Sprintf("/payments/%d", o.PaymentID), nil)
		return r.Field("is_void") == true
	})
	r := s.Payments.Do(t, "POST", fmt.Sprintf("/payments/process/%d", o.PaymentID), card)
	if r.Status != 409 || !strings.Contains(string(r.Raw), "void") {
		t.Fatalf("paying the deleted order's payment = %d %s, want 409", r.Status, r.Raw)
	}
}

// The unauthenticated payment state of the review: PUT /orders needs the
// employee key, and even then cannot mark an unpaid order paid nor store a
// link other than the order's own payment's on the public gateway (another
// order's, another site's, a script, or null).
func TestPaymentStateIsNotWritableAnonymously(t *testing.T) {
	s := systemkit.New(t)
	_, other, _ := completedOrder(t, s)
	_, id, o := completedOrder(t, s)
	theirs, _ := s.GetOrder(t, other)
	attack := map[string]any{"order_id": id, "is_paid": true, "payment_link": "javascript:alert(1)"}
	cases := []struct {
		name   string
		c      *stacktest.Client
		body   map[string]any
		status int
	}{
		{"anonymous", stacktest.NewClient(systemkit.GatewayURL()), attack, 401},
		{"wrong key", systemkit.WithKey(storeapi.EmployeeKeyHeader, "guess"), attack, 403},
		{"employee marking an unpaid order paid", systemkit.Employee(), map[string]any{"order_id": id, "is_paid": true}, 409},
		{"employee storing a script link", systemkit.Employee(), map[string]any{"order_id": id, "is_paid": false, "payment_link": "javascript:alert(1)"}, 422},
		{"employee setting another site's link", systemkit.Employee(), map[string]any{"order_id": id, "is_paid": false, "payment_link": "https://pay.example.com/1"}, 422},
		{"employee setting another order's link", systemkit.Employee(), map[string]any{"order_id": id, "is_paid": false, "payment_link": theirs.PaymentLink}, 422},
		{"employee setting a null link", systemkit.Employee(), map[string]any{"order_id": id, "is_paid": false, "payment_link": nil}, 422},
		{"employee confirming the order's own link", systemkit.Employee(), map[string]any{"order_id": id, "is_paid": false, "payment_link": o.PaymentLink}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if r := tc.c.Do(t, "PUT", "/orders", tc.body); r.Status != tc.status || r.JSON == nil {
				t.Fatalf("PUT /orders = %d %s, want %d", r.Status, r.Raw, tc.status)
			}
		})
	}
	stacktest.Eventually(t, 15*time.Second, "the order's own link kept in the read model", func() bool {
		now, _ := s.GetOrder(t, id)
		return now.PaymentLink == o.PaymentLink && !now.IsPaid && slices.Contains(now.Steps, events.OrderUpdated)
	})
}
