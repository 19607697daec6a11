package storeapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/api/storeapi"
)

func TestRequireOnWritesGuardsEveryWriteWhenOn(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	cases := []struct {
		name, method, path, sent string
		on                       bool
		status                   int
	}{
		{"off by default", "POST", "/users", "", false, http.StatusNoContent},
		{"write without key", "POST", "/users", "", true, http.StatusUnauthorized},
		{"write with wrong key", "DELETE", "/orders/1", "nope", true, http.StatusForbidden},
		{"write with key", "PUT", "/orders", "k", true, http.StatusNoContent},
		{"read stays open", "GET", "/orders/1", "", true, http.StatusNoContent},
		{"graphql keeps its own rule", "POST", "/graphql", "", true, http.StatusNoContent},
		{"original graphql route too", "POST", "/stocks/graphql-query", "", true, http.StatusNoContent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.sent != "" {
				req.Header.Set(storeapi.EmployeeKeyHeader, tc.sent)
			}
			rec := httptest.NewRecorder()
			storeapi.RequireOnWrites(tc.on, storeapi.EmployeeKey("k"), ok).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("= %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("refusal is not a JSON error: %s", rec.Body)
			}
		})
	}
}
