package storeapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/api/graphql"
	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/api/storeapi"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/storetest"
)

// newStoreServer serves the store API in-process over the test's own
// databases and read models, with the saga and projector running.
func newStoreServer(t *testing.T) (*stacktest.Client, storetest.System) {
	t.Helper()
	s := storetest.New(t)
	gql, err := graphql.NewHandler(&graphql.Resolver{Store: s.Store}, graphql.Options{SupplierKey: "test-key"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(storeapi.New(s.Store, gql, map[string]httpkit.Check{"mysql": s.StoreDB.PingContext}, storeapi.Access{Employee: storeapi.EmployeeKey(testEmployeeKey)}))
	t.Cleanup(srv.Close)
	c := stacktest.NewClient(srv.URL)
	c.Header = http.Header{storeapi.EmployeeKeyHeader: {testEmployeeKey}}
	return c, s
}

// testEmployeeKey is the employee key of the in-process test server.
const testEmployeeKey = "test-employee-key"

type fixture struct {
	userID, productID, orderID int64
	sku, email                 string
}

func newFixture(t *testing.T, c *stacktest.Client) fixture {
	t.Helper()
	f := fixture{sku: "T-" + stacktest.Suffix(), email: "u-" + stacktest.Suffix() + "@example.com"}
	r := c.Do(t, "POST", "/users", map[string]any{"name": "Grace Hopper", "email": f.email})
	if r.Status != 201 {
		t.Fatalf("create user: %d %s", r.Status, r.Raw)
	}
	f.userID = r.Int("user_id")
	r = c.Do(t, "POST", "/products", map[string]any{"name": "Widget", "sku": f.sku, "price": 12.5})
	if r.Status != 201 {
		t.Fatalf("create product: %d %s", r.Status, r.Raw)
	}
	f.productID = r.Int("product_id")
	if r = c.Do(t, "POST", "/stocks", map[string]any{"product_id": f.productID, "quantity": 40}); r.Status != 200 {
		t.Fatalf("set stock: %d %s", r.Status, r.Raw)
	}
	r = c.Do(t, "POST", "/orders", map[string]any{"user_id": f.userID, "items": []any{map[string]any{"product_id": f.productID, "quantity": 2}}})
	if r.Status != 201 {
		t.Fatalf("create order: %d %s", r.Status, r.Raw)
	}
	f.orderID = r.Int("order_id")
	return f
}

func TestStoreRoutes(t *testing.T) {
	c, _ := newStoreServer(t)
	f := newFixture(t, c)
	huge := strings.Repeat("x", httpkit.MaxBodyBytes+10)
	// Stock is set on a product of its own, so the fixture's order keeps its stock and completes.
	spare := c.Do(t, "POST", "/products", map[string]any{"name": "Spare", "sku": "S-" + stacktest.Suffix(), "price": 1}).Int("product_id")
	item := func(pid any, qty any) map[string]any {
		return map[string]any{"user_id": f.userID, "items": []any{map[string]any{"product_id": pid, "quantity": qty}}}
	}
	cases := []struct {
		name, method, path string
		body               any
		status             int
		contains           string // a piece of the body expected
	}{
		{"health", "GET", "/health-check", nil, 200, `"status":"ok"`},
		{"ready", "GET", "/ready", nil, 200, `"ready":true`},
		{"openapi", "GET", "/openapi.json", nil, 200, `"openapi": "3.0.3"`},
		{"unknown route", "GET", "/nowhere", nil, 404, `"error"`},
		{"wrong method", "PATCH", "/users/1", nil, 405, `"error"`},

		{"get user", "GET", fmt.Sprintf("/users/%d", f.userID), nil, 200, f.email},
		{"get unknown user", "GET", "/users/999999999", nil, 404, "not found"},
		{"get user bad id", "GET", "/users/abc", nil, 400, "positive integer"},
		{"get user zero id", "GET", "/users/0", nil, 400, "positive integer"},
		{"create user malformed", "POST", "/users", `{"name":`, 400, "not valid JSON"},
		{"create user empty body", "POST", "/users", ``, 400, "empty"},
		{"create user array", "POST", "/users", `[1,2]`, 400, "JSON object"},
		{"create user wrong type", "POST", "/users", `{"name": 5, "email": "a@b.c"}`, 400, "field name"},
		{"create user missing email", "POST", "/users", `{"name": "A"}`, 400, "email is required"},
		{"create user unknown field", "POST", "/users", `{"name": "A", "email": "a@b.c", "age": 3}`, 400, "unknown field"},
		{"create user trailing data", "POST", "/users", `{"name": "A", "email": "a@b.c"} {}`, 400, "single JSON object"},
		{"create user bad email", "POST", "/users", `{"name": "A", "email": "nope"}`, 422, "email"},
		{"create user blank name", "POST", "/users", `{"name": "  ", "email": "x@example.com"}`, 422, "begin or end with a space"},
		{"create user padded name", "POST", "/users", `{"name": " Ann", "email": "x@example.com"}`, 422, "begin or end with a space"},
		{"create user empty name", "POST", "/users", `{"name": "", "email": "x@example.com"}`, 422, "name is required"},
		{"create user padded email", "POST", "/users", `{"name": "Ann", "email": " x@example.com"}`, 422, "email"},
		{"create user control characters", "POST", "/users", `{"name": "a\u0000b", "email": "x@example.com"}`, 422, "control characters"},
		{"create user duplicate email", "POST", "/users", map[string]any{"name": "B", "email": f.email}, 409, "already used"},
		{"create user oversized", "POST", "/users", `{"name": "` + huge + `", "email": "a@b.c"}`, 413, "bytes"},
		{"delete user with orders", "DELETE", fmt.Sprintf("/users/%d", f.userID), nil, 409, `"deleted":false`},
		{"delete unknown user", "DELETE", "/users/999999999", nil, 404, `"deleted":false`},

		{"get product", "GET", fmt.Sprintf("/products/%d", f.productID), nil, 200, `"price":12.50`},
		{"get unknown product", "GET", "/products/999999999", nil, 404, "not found"},
		{"create product duplicate sku", "POST", "/products", map[string]any{"name": "W", "sku": f.sku, "price": 1}, 409, "SKU"},
		{"create product negative price", "POST", "/products", map[string]any{"name": "W", "sku": "N-" + stacktest.Suffix(), "price": -1}, 422, "price"},
		{"create product price with 3 decimals", "POST", "/products", map[string]any{"name": "W", "sku": "N-" + stacktest.Suffix(), "price": 1.234}, 422, "price"},
		{"create product price as text", "POST", "/products", map[string]any{"name": "W", "sku": "N-" + stacktest.Suffix(), "price": "abc"}, 400, "number"},
		{"create product huge price", "POST", "/products", map[string]any{"name": "W", "sku": "N-" + stacktest.Suffix(), "price": 1e15}, 422, "price"},
		{"create product missing sku", "POST", "/products", map[string]any{"name": "W", "price": 1}, 400, "sku is required"},
		{"delete product used by orders", "DELETE", fmt.Sprintf("/products/%d", f.productID), nil, 409, "used by orders"},

		{"get stock", "GET", fmt.Sprintf("/stocks/%d", f.productID), nil, 200, fmt.Sprintf(`"product_id":%d`, f.productID)},
		{"get stock unknown", "GET", "/stocks/999999999", nil, 404, "not found"},
		{"get stock bad id", "GET", "/stocks/x1", nil, 400, "positive integer"},
		{"set stock zero", "POST", "/stocks", map[string]any{"product_id": spare, "quantity": 0}, 200, `"result"`},
		{"set stock negative", "POST", "/stocks", map[string]any{"product_id": spare, "quantity": -1}, 422, "quantity"},
		{"set stock huge", "POST", "/stocks", map[string]any{"product_id": spare, "quantity": 1e12}, 422, "quantity"},
		{"set stock fraction", "POST", "/stocks", map[string]any{"product_id": spare, "quantity": 1.5}, 422, "quantity"},
		{"set stock string product", "POST", "/stocks", `{"product_id": "one", "quantity": 1}`, 400, "product_id"},
		{"set stock unknown product", "POST", "/stocks", map[string]any{"product_id": 999999999, "quantity": 1}, 404, "not found"},
		{"set stock missing quantity", "POST", "/stocks", map[string]any{"product_id": spare}, 400, "quantity is required"},
		{"stock overview", "GET", "/stocks/reports/overview-stocks", nil, 200, `"Numéro SKU":"` + f.sku + `"`},

		{"get order", "GET", fmt.Sprintf("/orders/%d", f.orderID), nil, 200, `"total_amount":25.00`},
		{"get unknown order", "GET", "/orders/999999999", nil, 404, "not found"},
		{"create order zero quantity", "POST", "/orders", item(f.productID, 0), 422, "quantity"},
		{"create order negative quantity", "POST", "/orders", item(f.productID, -3), 422, "quantity"},
		{"create order huge quantity", "POST", "/orders", item(f.productID, 1e18), 422, "quantity"},
		{"create order unknown product", "POST", "/orders", item(999999999, 1), 404, "product 999999999"},
		{"create order unknown user", "POST", "/orders", map[string]any{"user_id": 999999999, "items": []any{map[string]any{"product_id": f.productID, "quantity": 1}}}, 404, "user 999999999"},
		{"create order no items", "POST", "/orders", map[string]any{"user_id": f.userID, "items": []any{}}, 422, "at least one item"},
		{"create order missing items", "POST", "/orders", map[string]any{"user_id": f.userID}, 400, "items is required"},
		{"create order items not a list", "POST", "/orders", map[string]any{"user_id": f.userID, "items": "x"}, 400, "items"},
		{"create order naming a product twice", "POST", "/orders", map[string]any{"user_id": f.userID, "items": []any{
			map[string]any{"product_id": f.productID, "quantity": 1}, map[string]any{"product_id": f.productID, "quantity": 2}}}, 201, `"order_id"`},
		{"update order null link", "PUT", "/orders", map[string]any{"order_id": f.orderID, "is_paid": false, "payment_link": nil}, 422, "cannot be null"},
		{"update order link not a string", "PUT", "/orders", map[string]any{"order_id": f.orderID, "is_paid": false, "payment_link": 5}, 400, "payment_link must be a string"},
		{"update order keeps its link", "PUT", "/orders", map[string]any{"order_id": f.orderID, "is_paid": false}, 200, `"updated":true`},
		{"update unknown order", "PUT", "/orders", map[string]any{"order_id": 999999999, "is_paid": true}, 404, `"updated":false`},
		{"update order paid against its payment", "PUT", "/orders", map[string]any{"order_id": f.orderID, "is_paid": true}, 409, "by its payment"},
		{"update order script link", "PUT", "/orders", map[string]any{"order_id": f.orderID, "is_paid": false, "payment_link": "javascript:alert(1)"}, 422, "http or https"},
		{"update order relative link", "PUT", "/orders", map[string]any{"order_id": f.orderID, "is_paid": false, "payment_link": "/pay/1"}, 422, "http or https"},
		{"update order long link", "PUT", "/orders", map[string]any{"order_id": f.orderID, "is_paid": false, "payment_link": "https://example.com/" + strings.Repeat("a", 240)}, 422, "255"},
		{"update order missing flag", "PUT", "/orders", map[string]any{"order_id": f.orderID}, 400, "is_paid is required"},
		{"delete unknown order", "DELETE", "/orders/999999999", nil, 404, `"deleted":false`},
		{"highest spenders", "GET", "/orders/reports/highest-spenders", nil, 200, `"total_expense"`},
		{"best sellers", "GET", "/orders/reports/best-sellers", nil, 200, `"quantity_sold"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, tc.method, tc.path, tc.body)
			if r.Status != tc.status || !strings.Contains(string(r.Raw), tc.contains) {
				t.Fatalf("%s %s = %d %s; want %d containing %q", tc.method, tc.path, r.Status, r.Raw, tc.status, tc.contains)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q, want JSON", ct)
			}
		})
	}
}

// Deleting: a user without orders, a product without orders, an unpaid order
// (its stock comes back if the saga took it), and never a paid order.
func TestStoreDeletes(t *testing.T) {
	c, s := newStoreServer(t)
	svc := s.Store
	ctx := context.Background()
	f := newFixture(t, c)

	r := c.Do(t, "POST", "/users", map[string]any{"name": "Tmp", "email": "tmp-" + stacktest.Suffix() + "@example.com"})
	if r = c.Do(t, "DELETE", fmt.Sprintf("/users/%d", r.Int("user_id")), nil); r.Status != 200 || r.Field("deleted") != true {
		t.Fatalf("delete user: %d %s", r.Status, r.Raw)
	}
	r = c.Do(t, "POST", "/products", map[string]any{"name": "Tmp", "sku": "D-" + stacktest.Suffix(), "price": 3.10})
	if r = c.Do(t, "DELETE", fmt.Sprintf("/products/%d", r.Int("product_id")), nil); r.Status != 200 || r.Field("deleted") != true {
		t.Fatalf("delete product: %d %s", r.Status, r.Raw)
	}

	// The running saga takes the fixture order's stock; wait until it has.
	stacktest.Eventually(t, 20*time.Second, "order stock taken", func() bool {
		o, err := svc.Order(ctx, f.orderID)
		return err == nil && o.Status != store.StatusCreated
	})
	before := stockInDB(t, svc, f.productID)
	// The order may have a payment: it is Deleting until payments has voided it.
	if r = c.Do(t, "DELETE", fmt.Sprintf("/orders/%d", f.orderID), nil); r.Status != 202 || r.Field("status") != store.StatusDeleting {
		t.Fatalf("delete order: %d %s, want 202 Deleting", r.Status, r.Raw)
	}
	stacktest.Eventually(t, 10*time.Second, "stock returned once payments answered", func() bool {
		return stockInDB(t, svc, f.productID) == before+2
	})
	// The read side learns of the deletion from its event.
	stacktest.Eventually(t, 10*time.Second, "deleted order gone from reads", func() bool {
		return c.Do(t, "GET", fmt.Sprintf("/orders/%d", f.orderID), nil).Status == 404
	})
}

// PUT /orders changes payment state: it needs the employee key whatever the
// configuration, 401 without it and 403 with a wrong one.
func TestUpdateOrderNeedsTheEmployeeKey(t *testing.T) {
	c, _ := newStoreServer(t)
	f := newFixture(t, c)
	body := map[string]any{"order_id": f.orderID, "is_paid": true, "payment_link": "javascript:alert(1)"}
	cases := []struct {
		name   string
		header http.Header
		status int
	}{
		{"anonymous", nil, http.StatusUnauthorized},
		{"wrong key", http.Header{storeapi.EmployeeKeyHeader: {"guess"}}, http.StatusForbidden},
		{"supplier key is not an employee key", http.Header{"X-Supplier-Key": {"test-key"}}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			anon := stacktest.NewClient(c.Base)
			anon.Header = tc.header
			r := anon.Do(t, "PUT", "/orders", body)
			if r.Status != tc.status || r.Field("error") == nil {
				t.Fatalf("PUT /orders = %d %s, want %d with a JSON error", r.Status, r.Raw, tc.status)
			}
		})
	}
	r := c.Do(t, "GET", fmt.Sprintf("/orders/%d", f.orderID), nil)
	if r.Field("is_paid") != false || r.Field("payment_link") == "javascript:alert(1)" {
		t.Fatalf("a refused PUT changed the order: %s", r.Raw)
	}
}

func stockInDB(t *testing.T, svc *store.Service, productID int64) int64 {
	t.Helper()
	lines, err := svc.StockOverview(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if l.ProductID == productID {
			return l.Quantity
		}
	}
	t.Fatalf("product %d not in the overview", productID)
	return 0
}

// After a command, the read model kept by the projector shows it.
func TestReadModelFollowsCommands(t *testing.T) {
	c, s := newStoreServer(t)
	f := newFixture(t, c)
	sku := "R-" + stacktest.Suffix()
	r := c.Do(t, "POST", "/products", map[string]any{"name": "Unordered", "sku": sku, "price": 1})
	productID := r.Int("product_id")
	if r := c.Do(t, "POST", "/stocks", map[string]any{"product_id": productID, "quantity": 777}); r.Status != 200 {
		t.Fatal(r.Status, string(r.Raw))
	}
	rm := s.Reads
	stacktest.Eventually(t, 10*time.Second, "projected stock 777", func() bool {
		p, presence, err := rm.Product(context.Background(), productID)
		return err == nil && presence == store.Present && p.Quantity == 777 && p.SKU == sku
	})
	stacktest.Eventually(t, 10*time.Second, "projected order", func() bool {
		o, presence, err := rm.Order(context.Background(), f.orderID)
		return err == nil && presence == store.Present && o.ID == f.orderID
	})
}

// No body of any shape makes a route answer 5xx: bad input is always a 4xx with a JSON error.
func TestGarbageNeverFails(t *testing.T) {
	c, _ := newStoreServer(t)
	garbage := []string{
		``, `null`, `[]`, `"x"`, `42`, `{`, `{}`, `{"user_id": null, "items": null}`,
		`{"user_id": -1, "items": [null]}`, `{"user_id": 1e400}`, `{"product_id": 1, "quantity": "many"}`,
		`{"name": {"nested": true}, "email": [], "sku": 1, "price": true}`,
		`{"items": [{"product_id": 9223372036854775807, "quantity": 9223372036854775807}], "user_id": 9223372036854775807}`,
		`{"order_id": 0, "is_paid": "yes"}`, `{"query": 5}`, `{"query": "{ product(id: 1) { id } }"}`,
		"\xef\xbb\xbf{}", `{"name": "\u0000", "email": "a@b.c"}`,
	}
	api := storeapi.New(nil, http.NotFoundHandler(), nil, storeapi.Access{})
	for _, r := range api.Routes() {
		if r.Method != "POST" && r.Method != "PUT" {
			continue
		}
		for _, body := range garbage {
			resp := c.Do(t, r.Method, r.Path, body)
			if resp.Status >= 500 || resp.JSON == nil {
				t.Errorf("%s %s with %q = %d %s", r.Method, r.Path, body, resp.Status, resp.Raw)
			}
		}
	}
}
