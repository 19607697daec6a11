package rest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/api/rest"
)

func TestRequireEmployeeKey(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	cases := []struct {
		name, key, method, path, sent string
		status                        int
	}{
		{"off by default", "", "POST", "/users", "", http.StatusNoContent},
		{"write without key", "k", "POST", "/users", "", http.StatusUnauthorized},
		{"write with wrong key", "k", "DELETE", "/orders/1", "nope", http.StatusForbidden},
		{"write with key", "k", "PUT", "/orders", "k", http.StatusNoContent},
		{"read stays open", "k", "GET", "/orders/1", "", http.StatusNoContent},
		{"graphql keeps its own rule", "k", "POST", "/graphql", "", http.StatusNoContent},
		{"original graphql route too", "k", "POST", "/stocks/graphql-query", "", http.StatusNoContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.sent != "" {
				req.Header.Set(rest.EmployeeKeyHeader, tc.sent)
			}
			rec := httptest.NewRecorder()
			rest.RequireEmployeeKey(tc.key, ok).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("= %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("refusal is not a JSON error: %s", rec.Body)
			}
		})
	}
}
