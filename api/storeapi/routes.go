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

// OpenAPI is the OpenAPI document of store-manager's REST API.
//
//go:embed openapi/store-manager.json
var OpenAPI []byte

// New returns store-manager's API over svc and the GraphQL handler, its
// employees' routes guarded as access says.
func New(svc *store.Service, graphql http.Handler, checks map[string]httpkit.Check, access Access) *httpkit.API {
	h := storeHandlers{svc: svc}
	emp := access.employees
	return httpkit.New([]httpkit.Route{
		{Method: "GET", Path: "/health-check", Handler: httpkit.Health},
		{Method: "GET", Path: "/ready", Handler: httpkit.Readiness(checks)},
		{Method: "GET", Path: "/openapi.json", Handler: httpkit.Document(OpenAPI)},

		{Method: "POST", Path: "/users", Handler: emp(httpkit.Create("user_id", h.createUser))},
		{Method: "GET", Path: "/users/{user_id}", Handler: emp(httpkit.GetByID("user_id", svc.User, newUserResponse))},
		{Method: "DELETE", Path: "/users/{user_id}", Handler: emp(deleteByID("user_id", svc.DeleteUser))},

		{Method: "POST", Path: "/products", Handler: emp(httpkit.Create("product_id", h.createProduct))},
		{Method: "GET", Path: "/products/{product_id}", Handler: httpkit.GetByID("product_id", svc.Product, newProductResponse)},
		{Method: "DELETE", Path: "/products/{product_id}", Handler: emp(deleteByID("product_id", svc.DeleteProduct))},

		{Method: "POST", Path: "/stocks", Handler: emp(h.setStock)},
		{Method: "GET", Path: "/stocks/{product_id}", Handler: httpkit.GetByID("product_id", svc.Product, newStockResponse)},
		{Method: "GET", Path: "/stocks/reports/overview-stocks", Handler: emp(h.stockOverview)},
		{Method: "POST", Path: "/stocks/graphql-query", Handler: httpkit.Plain(graphql)},
		{Method: "POST", Path: "/graphql", Handler: httpkit.Plain(graphql)},
		{Method: "GET", Path: "/graphql", Handler: httpkit.Plain(graphql)},

		{Method: "POST", Path: "/orders", Handler: emp(httpkit.Create("order_id", h.createOrder))},
		{Method: "PUT", Path: "/orders", Handler: access.Employee.Guard(h.updateOrder)},
		{Method: "GET", Path: "/orders/{order_id}", Handler: emp(httpkit.GetByID("order_id", svc.Order, newOrderResponse))},
		{Method: "DELETE", Path: "/orders/{order_id}", Handler: emp(h.deleteOrder)},
		{Method: "GET", Path: "/orders/reports/highest-spenders", Handler: emp(h.highestSpenders)},
		{Method: "GET", Path: "/orders/reports/best-sellers", Handler: emp(h.bestSellers)},
	})
}
