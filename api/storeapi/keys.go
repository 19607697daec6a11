package storeapi

import (
	"net/http"

	"github.com/store-manager/store-manager/api/httpkit"
)

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
