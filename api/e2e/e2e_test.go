// Package e2e tests the whole system through the gateway: the order saga
// across store-manager and payments over Kafka, its compensations, duplicate
// events, concurrency and crashes. It needs the running system (make test
// starts it) and runs its tests one at a time, as some stop services.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// Terminal saga states.
var terminal = map[string]bool{"Completed": true, "Cancelled": true, "NeedsAttention": true}

// system reaches both services through the gateway, as an employee.
type system struct {
	store, payments *stacktest.Client
}

func newSystem(t testing.TB) system {
	t.Helper()
	stacktest.Stack(t)
	gateway := employee() // the employees' routes need their key
	return system{store: gateway, payments: gateway}
}

// stateDir is the stack's state folder.
func stateDir() string {
	_, file, _, _ := runtime.Caller(0)
	return config.Env("STATE", filepath.Join(filepath.Dir(file), "..", "..", ".state"))
}

// gatewayURL is where every client reaches the system.
func gatewayURL() string { return under.GatewayURL() }

// under is the instance of the system under test: STACK_NAMESPACE's.
var under config.Instance

func TestMain(m *testing.M) {
	i, err := config.CurrentInstance()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	under = i
	os.Exit(m.Run())
}

// stack runs the project's stack script, for tests that stop and start components.
func stack(t *testing.T, args ...string) { stackWith(t, nil, args...) }

// stackWith runs the stack script with env (NAME=value) added to the test's environment.
func stackWith(t *testing.T, env []string, args ...string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "stack", "stack.sh")
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stack.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if args[0] == "app" || args[0] == "start" || args[0] == "gateway" {
		waitGateway(t)
	}
}

// waitGateway waits until the gateway reaches both services again: after a
// service was down, its circuit breaker keeps it out for a while.
func waitGateway(t testing.TB) {
	t.Helper()
	c := stacktest.NewClient(gatewayURL())
	stacktest.Eventually(t, 60*time.Second, "the gateway reaches the services", func() bool {
		for _, path := range []string{"/health-check", "/payments/status"} {
			if r, err := c.Try("GET", path, nil); err != nil || r.Status != 200 {
				return false
			}
		}
		return true
	})
}

// product creates a product with quantity units in stock.
func (s system) product(t testing.TB, price string, quantity int) int64 {
	t.Helper()
	r := s.store.Do(t, "POST", "/products", map[string]any{"name": "E2E item", "sku": "E-" + stacktest.Suffix(), "price": json.Number(price)})
	if r.Status != 201 {
		t.Fatalf("create product: %d %s", r.Status, r.Raw)
	}
	id := r.Int("product_id")
	if r = s.store.Do(t, "POST", "/stocks", map[string]any{"product_id": id, "quantity": quantity}); r.Status != 200 {
		t.Fatalf("set stock: %d %s", r.Status, r.Raw)
	}
	return id
}

// products creates n products with quantity in stock each: their initial
// stock by id, and their ids in order.
func (s system) products(t testing.TB, n, quantity int) (map[int64]int64, []int64) {
	t.Helper()
	initial := map[int64]int64{}
	var ids []int64
	for range n {
		id := s.product(t, "1.00", quantity)
		initial[id], ids = int64(quantity), append(ids, id)
	}
	return initial, ids
}

func (s system) user(t testing.TB) int64 {
	t.Helper()
	r := s.store.Do(t, "POST", "/users", map[string]any{"name": "E2E buyer", "email": "e2e-" + stacktest.Suffix() + "@example.com"})
	if r.Status != 201 {
		t.Fatalf("create user: %d %s", r.Status, r.Raw)
	}
	return r.Int("user_id")
}

// order places an order; it returns 0 when the request did not create one.
func (s system) order(t *testing.T, user, product int64, qty int) int64 {
	t.Helper()
	r := s.store.Do(t, "POST", "/orders", map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": product, "quantity": qty}}})
	if r.Status != 201 {
		return 0
	}
	return r.Int("order_id")
}

type order struct {
	Status        string
	IsPaid        bool
	PaymentID     int64
	PaymentLink   string
	FailureReason string
	TotalAmount   float64
	UserID        int64
	Items         int
	Steps         []string
}

func (s system) getOrder(t *testing.T, id int64) (order, int) {
	t.Helper()
	r := s.store.Do(t, "GET", fmt.Sprintf("/orders/%d", id), nil)
	if r.Status != 200 {
		return order{}, r.Status
	}
	o := order{Status: fmt.Sprint(r.Field("status")), UserID: r.Int("user_id"), PaymentID: r.Int("payment_id")}
	o.IsPaid, _ = r.Field("is_paid").(bool)
	o.PaymentLink, _ = r.Field("payment_link").(string)
	o.FailureReason, _ = r.Field("failure_reason").(string)
	o.TotalAmount, _ = r.Field("total_amount").(float64)
	items, _ := r.Field("items").([]any)
	o.Items = len(items)
	steps, _ := r.Field("steps").([]any)
	for _, st := range steps {
		o.Steps = append(o.Steps, fmt.Sprint(st.(map[string]any)["event"]))
	}
	return o, 200
}

// settle waits until every order reaches a terminal state and returns them.
func (s system) settle(t *testing.T, timeout time.Duration, ids ...int64) map[int64]order {
	t.Helper()
	out := map[int64]order{}
	stacktest.Eventually(t, timeout, fmt.Sprintf("%d orders terminal", len(ids)), func() bool {
		for _, id := range ids {
			if terminal[out[id].Status] {
				continue
			}
			o, status := s.getOrder(t, id)
			if status != 200 || !terminal[o.Status] {
				return false
			}
			out[id] = o
		}
		return true
	})
	return out
}

func (s system) stock(t testing.TB, product int64) int64 {
	t.Helper()
	r := s.store.Do(t, "GET", fmt.Sprintf("/stocks/%d", product), nil)
	if r.Status != 200 {
		t.Fatalf("get stock: %d %s", r.Status, r.Raw)
	}
	return r.Int("quantity")
}

// stockSettles waits until the read model shows want units.
func (s system) stockSettles(t testing.TB, product, want int64) {
	t.Helper()
	stacktest.Eventually(t, 15*time.Second, fmt.Sprintf("stock of %d at %d", product, want), func() bool {
		return s.stock(t, product) == want
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}
