package paymentsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/api/paymentsapi"
	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// newPaymentsServer serves the payments API in-process over a payments
// database of the test's own, with a limit of 1000.00 per payment. Its
// client sends the service key; announce hands the payments saga one of the
// store's events about an order, as Kafka would.
func newPaymentsServer(t *testing.T) (c *stacktest.Client, announce func(typ string, id, user int64, total string)) {
	t.Helper()
	db := stacktest.Open(t, stacktest.MigratedDatabase(t, "payments"))
	q, err := payments.Prepare(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	svc := payments.New(q, payments.Config{MaxAmount: money.Cents(100000), LinkBase: "http://gateway.test"})
	srv := httptest.NewServer(paymentsapi.New(svc, map[string]httpkit.Check{"mysql": db.PingContext}, paymentsapi.ServiceKey(testServiceKey)))
	t.Cleanup(srv.Close)
	c = stacktest.NewClient(srv.URL)
	c.Header = http.Header{paymentsapi.ServiceKeyHeader: {testServiceKey}}
	saga := consumer.NewRegistry()
	svc.RegisterSaga(saga)
	return c, func(typ string, id, user int64, total string) {
		t.Helper()
		payload, err := json.Marshal(events.OrderEvent{Order: events.Order{ID: id, UserID: user, TotalAmount: total}})
		if err != nil {
			t.Fatal(err)
		}
		m := consumer.Message{ID: uuid.NewString(), Type: typ, Topic: events.TopicOrders, Key: strconv.FormatInt(id, 10), Payload: payload}
		h, ok := saga.Lookup(m)
		if !ok {
			t.Fatalf("the payments saga does not handle %s", typ)
		}
		if err := h(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

// testServiceKey is the service key of the in-process test server.
const testServiceKey = "test-service-key"

func TestPaymentsRoutes(t *testing.T) {
	c, announce := newPaymentsServer(t)
	orderID := int64(100)
	announce(events.OrderCreated, orderID, 1, "42.50")
	announce(events.OrderCreated, orderID+1, 1, "1000.01")
	announce(events.OrderCreated, orderID+2, 1, "10.00")
	announce(events.OrderCreated, orderID+3, 1, "10.00")
	announce(events.OrderCancelled, orderID+3, 1, "10.00")
	r := c.Do(t, "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID, "total_amount": 42.5})
	if r.Status != 201 {
		t.Fatalf("create payment: %d %s", r.Status, r.Raw)
	}
	id := r.Int("payment_id")
	card := map[string]any{"cardNumber": "4242424242424242", "cardCode": "123", "expirationDate": "12/40"}

	cases := []struct {
		name, method, path string
		body               any
		status             int
		contains           string
	}{
		{"banner", "GET", "/", nil, 200, `{"service":"PaymentMicroservice","status":"running"}`},
		{"health", "GET", "/health-check", nil, 200, `"ok"`},
		{"get", "GET", fmt.Sprintf("/payments/%d", id), nil, 200, fmt.Sprintf(`"order_id":%d`, orderID)},
		{"get unknown", "GET", "/payments/999999999", nil, 404, "not found"},
		{"get bad id", "GET", "/payments/x", nil, 400, "positive integer"},
		{"create duplicate order", "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID, "total_amount": 42.5}, 409, "already has a payment"},
		{"create over the limit", "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID + 1, "total_amount": 1000.01}, 422, "over the limit"},
		{"create for less than the order's total", "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID + 2, "total_amount": 0.01}, 422, "not the total"},
		{"create for another user", "POST", "/payments", map[string]any{"user_id": 2, "order_id": orderID + 2, "total_amount": 10}, 422, "not the user"},
		{"create for an unknown order", "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID + 4, "total_amount": 10}, 404, "not known"},
		{"create for a cancelled order", "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID + 3, "total_amount": 10}, 409, "cancelled or deleted"},
		{"create negative", "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID + 1, "total_amount": -5}, 422, "total_amount"},
		{"create missing order", "POST", "/payments", map[string]any{"user_id": 1, "total_amount": 5}, 400, "order_id is required"},
		{"create malformed", "POST", "/payments", `{"user_id":`, 400, "not valid JSON"},
		{"process bad card", "POST", fmt.Sprintf("/payments/process/%d", id), map[string]any{"cardNumber": "1234567812345678", "cardCode": "123", "expirationDate": "12/40"}, 422, "card number"},
		{"process expired card", "POST", fmt.Sprintf("/payments/process/%d", id), map[string]any{"cardNumber": "4242424242424242", "cardCode": "123", "expirationDate": "01/20"}, 422, "expired"},
		{"process missing code", "POST", fmt.Sprintf("/payments/process/%d", id), map[string]any{"cardNumber": "4242424242424242", "expirationDate": "12/40"}, 400, "cardCode is required"},
		{"process unknown", "POST", "/payments/process/999999999", card, 404, "not found"},
		{"process", "POST", fmt.Sprintf("/payments/process/%d", id), card, 200, `"is_paid":true`},
		{"process twice", "POST", fmt.Sprintf("/payments/process/%d", id), card, 409, "already paid"},
		{"paid", "GET", fmt.Sprintf("/payments/%d", id), nil, 200, `"is_paid":true`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, tc.method, tc.path, tc.body)
			if r.Status != tc.status || !strings.Contains(string(r.Raw), tc.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %q", tc.method, tc.path, r.Status, r.Raw, tc.status, tc.contains)
			}
			if strings.Contains(string(r.Raw), "4242424242424242") {
				t.Fatal("the response shows the card number")
			}
		})
	}
}

// Creating a payment needs the service key: 401 without it, 403 with a wrong
// one, and nothing is created either way.
func TestCreatePaymentNeedsTheServiceKey(t *testing.T) {
	c, announce := newPaymentsServer(t)
	orderID := int64(7)
	announce(events.OrderCreated, orderID, 1, "50.00")
	body := map[string]any{"user_id": 1, "order_id": orderID, "total_amount": 0.01}
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"anonymous", nil, http.StatusUnauthorized},
		{"wrong key", http.Header{paymentsapi.ServiceKeyHeader: {"guess"}}, http.StatusForbidden},
		{"employee key is not a service key", http.Header{"X-Employee-Key": {"local-employee-key"}}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anon := stacktest.NewClient(c.Base)
			anon.Header = tc.header
			if r := anon.Do(t, "POST", "/payments", body); r.Status != tc.status || r.Field("error") == nil {
				t.Fatalf("POST /payments = %d %s, want %d", r.Status, r.Raw, tc.status)
			}
		})
	}
	body["total_amount"] = 50
	if r := c.Do(t, "POST", "/payments", body); r.Status != 201 {
		t.Fatalf("the refused requests left a payment behind, or the key does not work: %d %s", r.Status, r.Raw)
	}
}

// The payment of a deleted order is voided by the saga and cannot be paid.
func TestVoidPaymentCannotBePaid(t *testing.T) {
	c, announce := newPaymentsServer(t)
	orderID := int64(9)
	announce(events.OrderCreated, orderID, 1, "5.00")
	r := c.Do(t, "POST", "/payments", map[string]any{"user_id": 1, "order_id": orderID, "total_amount": 5})
	if r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	announce(events.OrderDeleted, orderID, 1, "")
	if r := c.Do(t, "GET", fmt.Sprintf("/payments/%d", r.Int("payment_id")), nil); r.Field("is_void") != true {
		t.Fatalf("payment of a deleted order = %s, want it void", r.Raw)
	}
	card := map[string]any{"cardNumber": "4242424242424242", "cardCode": "123", "expirationDate": "12/40"}
	if r := c.Do(t, "POST", fmt.Sprintf("/payments/process/%d", r.Int("payment_id")), card); r.Status != 409 || !strings.Contains(string(r.Raw), "void") {
		t.Fatalf("paying a void payment = %d %s, want 409", r.Status, r.Raw)
	}
}

// No body of any shape makes a payments route answer 5xx.
func TestPaymentsGarbageNeverFails(t *testing.T) {
	c, _ := newPaymentsServer(t)
	garbage := []string{``, `null`, `[]`, `{`, `{}`, `{"user_id": "1", "order_id": 1.5, "total_amount": "x"}`,
		`{"user_id": 0, "order_id": 0, "total_amount": 1}`, `{"cardNumber": 4242, "cardCode": 1, "expirationDate": 1}`,
		`{"cardNumber": "", "cardCode": "", "expirationDate": "99/99"}`, `{"total_amount": 1e400}`}
	for _, path := range []string{"/payments", "/payments/process/1", "/payments/process/999999999"} {
		for _, body := range garbage {
			r := c.Do(t, "POST", path, body)
			if r.Status >= 500 || r.JSON == nil {
				t.Errorf("POST %s with %q = %d %s", path, body, r.Status, r.Raw)
			}
		}
	}
}
