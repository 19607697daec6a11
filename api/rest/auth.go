package rest

import (
	"crypto/subtle"
	"net/http"
)

// EmployeeKeyHeader carries the employees' API key.
const EmployeeKeyHeader = "X-Employee-Key"

// graphqlPaths have their own access rule: the supplier key for mutations.
var graphqlPaths = map[string]bool{"/stocks/graphql-query": true, "/graphql": true}

// RequireEmployeeKey puts store-manager's write routes (POST, PUT, DELETE)
// behind an employee API key: 401 without it, 403 with a wrong one. Reads and
// the GraphQL routes stay open. An empty key turns the check off, so the
// original's clients work unchanged by default.
func RequireEmployeeKey(key string, next http.Handler) http.Handler {
	if key == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete
		if write && !graphqlPaths[r.URL.Path] {
			sent := r.Header.Get(EmployeeKeyHeader)
			switch {
			case sent == "":
				writeJSON(w, http.StatusUnauthorized, errorBody{Error: "an employee API key is required: send it in the " + EmployeeKeyHeader + " header"})
				return
			case subtle.ConstantTimeCompare([]byte(sent), []byte(key)) != 1:
				writeJSON(w, http.StatusForbidden, errorBody{Error: "the employee API key is not valid"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
