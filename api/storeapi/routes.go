// Package storeapi is store-manager's REST API: the original's routes with
// thin handlers that return errors, GraphQL at /stocks/graphql-query and
// /graphql, health, readiness and the OpenAPI document.
package storeapi

import (
	_ "embed"
	"net/http"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/services/store"
)

//go:embed openapi/store-manager.json
var openAPI []byte

// OpenAPI is the OpenAPI document of store-manager's REST API.
func OpenAPI() []byte { return openAPI }

// EmployeeKeyHeader carries the employees' API key.
const EmployeeKeyHeader = "X-Employee-Key"

// LocalEmployeeKey is the employee key when none is configured: a LOCAL
// DEVELOPMENT DEFAULT for a loopback-only stack, to be replaced by a secret
// anywhere else.
const LocalEmployeeKey = "local-employee-key"

// EmployeeKey is the employees' key: it guards payment state (PUT /orders),
// and every write route when RequireOnWrites is on.
func EmployeeKey(value string) httpkit.Key {
	return httpkit.Key{Header: EmployeeKeyHeader, Value: value, Holder: "employee"}
}

// New returns store-manager's API over svc and the GraphQL handler.
func New(svc *store.Service, graphql http.Handler, checks map[string]httpkit.Check, employee httpkit.Key) *httpkit.API {
	h := storeHandlers{svc: svc}
	return httpkit.New([]httpkit.Route{
		{Method: "GET", Path: "/health-check", Handler: httpkit.Health},
		{Method: "GET", Path: "/ready", Handler: httpkit.Readiness(checks)},
		{Method: "GET", Path: "/openapi.json", Handler: httpkit.Document(openAPI)},

		{Method: "POST", Path: "/users", Handler: h.createUser},
		{Method: "GET", Path: "/users/{user_id}", Handler: h.getUser},
		{Method: "DELETE", Path: "/users/{user_id}", Handler: deleteByID("user_id", svc.DeleteUser)},

		{Method: "POST", Path: "/products", Handler: h.createProduct},
		{Method: "GET", Path: "/products/{product_id}", Handler: h.getProduct},
		{Method: "DELETE", Path: "/products/{product_id}", Handler: deleteByID("product_id", svc.DeleteProduct)},

		{Method: "POST", Path: "/stocks", Handler: h.setStock},
		{Method: "GET", Path: "/stocks/{product_id}", Handler: h.getStock},
		{Method: "GET", Path: "/stocks/reports/overview-stocks", Handler: h.stockOverview},
		{Method: "POST", Path: "/stocks/graphql-query", Handler: httpkit.Plain(graphql)},
		{Method: "POST", Path: "/graphql", Handler: httpkit.Plain(graphql)},
		{Method: "GET", Path: "/graphql", Handler: httpkit.Plain(graphql)},

		{Method: "POST", Path: "/orders", Handler: h.createOrder},
		{Method: "PUT", Path: "/orders", Handler: employee.Guard(h.updateOrder)},
		{Method: "GET", Path: "/orders/{order_id}", Handler: h.getOrder},
		{Method: "DELETE", Path: "/orders/{order_id}", Handler: deleteByID("order_id", svc.DeleteOrder)},
		{Method: "GET", Path: "/orders/reports/highest-spenders", Handler: h.highestSpenders},
		{Method: "GET", Path: "/orders/reports/best-sellers", Handler: h.bestSellers},
	})
}

// graphqlPaths have their own access rule: the supplier key for mutations.
var graphqlPaths = map[string]bool{"/stocks/graphql-query": true, "/graphql": true}

// RequireOnWrites puts every write route of store-manager (POST, PUT,
// DELETE) behind key when on is set; reads and the GraphQL routes keep their
// own rules. Off by default, so the original's clients work unchanged; the
// routes that change payment state need the employee key either way.
func RequireOnWrites(on bool, key httpkit.Key, next http.Handler) http.Handler {
	if !on {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete
		if write && !graphqlPaths[r.URL.Path] {
			if err := key.Check(r); err != nil {
				httpkit.WriteError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
