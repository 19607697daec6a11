package rest

import (
	_ "embed"
	"net/http"

	"github.com/store-manager/store-manager/services/store"
)

//go:embed openapi/store-manager.json
var storeOpenAPI []byte

// StoreOpenAPI is the OpenAPI document of store-manager's REST API.
func StoreOpenAPI() []byte { return storeOpenAPI }

// NewStore returns store-manager's REST API: the original's routes, GraphQL at
// /stocks/graphql-query and /graphql, health, readiness and the OpenAPI document.
// Payment state (PUT /orders) needs the employee key.
func NewStore(svc *store.Service, graphql http.Handler, checks map[string]Check, employee Key) *API {
	h := storeHandlers{svc: svc}
	return newAPI([]Route{
		{"GET", "/health-check", healthCheck},
		{"GET", "/ready", readiness(checks)},
		{"GET", "/openapi.json", serveDocument(storeOpenAPI)},

		{"POST", "/users", h.createUser},
		{"GET", "/users/{user_id}", h.getUser},
		{"DELETE", "/users/{user_id}", deleteByID("user_id", svc.DeleteUser)},

		{"POST", "/products", h.createProduct},
		{"GET", "/products/{product_id}", h.getProduct},
		{"DELETE", "/products/{product_id}", deleteByID("product_id", svc.DeleteProduct)},

		{"POST", "/stocks", h.setStock},
		{"GET", "/stocks/{product_id}", h.getStock},
		{"GET", "/stocks/reports/overview-stocks", h.stockOverview},
		{"POST", "/stocks/graphql-query", handle(graphql)},
		{"POST", "/graphql", handle(graphql)},
		{"GET", "/graphql", handle(graphql)},

		{"POST", "/orders", h.createOrder},
		{"PUT", "/orders", employee.Guard(h.updateOrder)},
		{"GET", "/orders/{order_id}", h.getOrder},
		{"DELETE", "/orders/{order_id}", deleteByID("order_id", svc.DeleteOrder)},
		{"GET", "/orders/reports/highest-spenders", h.highestSpenders},
		{"GET", "/orders/reports/best-sellers", h.bestSellers},
	})
}
