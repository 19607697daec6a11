package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/api/storeapi"
	"github.com/store-manager/store-manager/krakend"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// employeesRoutes are the routes that need the employee key: every write,
// and every read of personal data (users, orders, reports).
var employeesRoutes = map[string]bool{
	"POST /users": true, "GET /users/{user_id}": true, "DELETE /users/{user_id}": true,
	"POST /products": true, "DELETE /products/{product_id}": true,
	"POST /stocks": true, "GET /stocks/reports/overview-stocks": true,
	"POST /orders": true, "PUT /orders": true, "GET /orders/{order_id}": true, "DELETE /orders/{order_id}": true,
	"GET /orders/reports/highest-spenders": true, "GET /orders/reports/best-sellers": true,
}

// publicRoutes are what a customer or the public needs: product and stock
// reads, the payment link, GraphQL queries, health and the documents.
var publicRoutes = map[string]bool{
	"GET /health-check": true, "GET /openapi.json": true, "GET /products/{product_id}": true, "GET /stocks/{product_id}": true,
	"GET /graphql": true, "POST /graphql": true, "POST /stocks/graphql-query": true, "GET /graphql/stream": true, "POST /graphql/stream": true,
	"POST /payments/process/{payment_id}": true, "POST /payments-api/payments/{payment_id}": true,
	"GET /payments/status": true, "GET /payments/openapi.json": true,
}

// Through the gateway, by default, every employees' route answers an
// anonymous client 401 and a wrong key 403, and reaches its handler with
// the key; the public routes answer without one.
func TestEmployeesRoutesNeedTheEmployeeKey(t *testing.T) {
	stacktest.Stack(t)
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	anonymous, wrong := stacktest.NewClient(systemkit.GatewayURL()), systemkit.WithKey(storeapi.EmployeeKeyHeader, "guess")
	// Ids of nothing: the employee's DELETEs must not remove anything.
	ids := strings.NewReplacer("{user_id}", "999999999", "{product_id}", "999999999", "{order_id}", "999999999", "{payment_id}", "999999999")
	seen := 0
	for _, e := range cfg.Endpoints {
		route := e.Method + " " + e.Path
		var body any
		if e.Method == "POST" || e.Method == "PUT" {
			body = `{"unknown_field": true}` // refused by the handler, so nothing changes
		}
		path := ids.Replace(e.Path)
		if e.Path == "/graphql" || e.Path == "/stocks/graphql-query" {
			body = map[string]any{"query": `{ stockLevel(productId: "1") }`}
			if e.Method == "GET" {
				body, path = nil, path+"?query=%7BstockLevel(productId:%221%22)%7D"
			}
		}
		switch {
		case employeesRoutes[route]:
			seen++
			if r := anonymous.Do(t, e.Method, path, body); r.Status != 401 || r.Field("error") == nil {
				t.Errorf("anonymous %s = %d %s, want a 401 JSON error", route, r.Status, r.Raw)
			}
			if r := wrong.Do(t, e.Method, path, body); r.Status != 403 {
				t.Errorf("%s with a wrong key = %d %s, want 403", route, r.Status, r.Raw)
			}
			if r := systemkit.Employee().Do(t, e.Method, path, body); r.Status == 401 || r.Status == 403 || r.Status >= 500 {
				t.Errorf("%s with the employee key = %d %s, want the handler's answer", route, r.Status, r.Raw)
			}
		case publicRoutes[route]:
			if r := anonymous.Do(t, e.Method, path, body); r.Status == 401 || r.Status == 403 || r.Status >= 500 {
				t.Errorf("anonymous %s = %d %s, want it served", route, r.Status, r.Raw)
			}
		}
	}
	if seen != len(employeesRoutes) {
		t.Fatalf("the gateway routes %d of the %d employees' routes", seen, len(employeesRoutes))
	}
}

// The original's Postman collection runs with newman through the gateway:
// unchanged against a stack whose employee auth is off (EMPLOYEE_AUTH=off,
// for the original's labs), and with one collection-level API-key header
// against the default stack. Unchanged against the default stack, its
// employees' requests are refused.
func TestOriginalPostmanCollection(t *testing.T) {
	stacktest.Stack(t)
	root := systemkit.Root()
	newman := filepath.Join(root, ".tools", "newman", "node_modules", ".bin", "newman")
	if _, err := os.Stat(newman); err != nil {
		t.Fatalf("newman is not installed (make newman): %v", err)
	}
	seed, err := os.ReadFile(filepath.Join(root, "..", "shared", "seed", "store_manager.postman_collection.json"))
	if err != nil {
		t.Fatalf("the original's collection: %v", err)
	}
	base := strings.TrimPrefix(systemkit.GatewayURL(), "http://")
	run := func(t *testing.T, collection []byte) map[string]int {
		t.Helper()
		dir := t.TempDir()
		in, out := filepath.Join(dir, "collection.json"), filepath.Join(dir, "report.json")
		if err := os.WriteFile(in, collection, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(newman, "run", in, "--env-var", "baseURL="+base, "--reporters", "json",
			"--reporter-json-export", out, "--timeout-request", "10000", "--disable-unicode")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("newman: %v\n%s", err, msg)
		}
		return newmanStatuses(t, out)
	}
	served := func(t *testing.T, statuses map[string]int) {
		t.Helper()
		if len(statuses) != 16 {
			t.Fatalf("newman sent %d requests, want the collection's 16: %v", len(statuses), statuses)
		}
		for req, status := range statuses {
			if status == 401 || status == 403 || status >= 500 {
				t.Errorf("%s = %d", req, status)
			}
		}
	}

	t.Run("unchanged, against a stack with employee auth off", func(t *testing.T) {
		systemkit.StackWith(t, []string{"EMPLOYEE_AUTH=off"}, "restart", "store-manager")
		t.Cleanup(func() { systemkit.Stack(t, "restart", "store-manager") })
		served(t, run(t, seed))
	})
	t.Run("unchanged, against the default stack", func(t *testing.T) {
		statuses := run(t, seed)
		if statuses["POST /users"] != 401 || statuses["GET /users/1"] != 401 || statuses["GET /health-check"] != 200 ||
			statuses["POST /stocks/graphql-query"] != 200 {
			t.Fatalf("statuses = %v, want employees' requests refused and public reads served", statuses)
		}
	})
	t.Run("with a collection-level API-key header, against the default stack", func(t *testing.T) {
		var c map[string]any
		if err := json.Unmarshal(seed, &c); err != nil {
			t.Fatal(err)
		}
		c["auth"] = map[string]any{"type": "apikey", "apikey": []map[string]any{
			{"key": "key", "value": storeapi.EmployeeKeyHeader, "type": "string"},
			{"key": "value", "value": config.Env("EMPLOYEE_API_KEY", storeapi.LocalEmployeeKey), "type": "string"},
			{"key": "in", "value": "header", "type": "string"},
		}}
		keyed, _ := json.Marshal(c)
		served(t, run(t, keyed))
	})
}

// newmanStatuses reads newman's JSON report: each request's status by
// method and path.
func newmanStatuses(t *testing.T, report string) map[string]int {
	t.Helper()
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Run struct {
			Executions []struct {
				Request struct {
					Method string `json:"method"`
					URL    struct {
						Path []string `json:"path"`
					} `json:"url"`
				} `json:"request"`
				Response struct {
					Code int `json:"code"`
				} `json:"response"`
			} `json:"executions"`
		} `json:"run"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range r.Run.Executions {
		out[e.Request.Method+" /"+strings.Join(e.Request.URL.Path, "/")] = e.Response.Code
	}
	return out
}
