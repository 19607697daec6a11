// Package apitest holds what the HTTP API packages' tests share. Only tests
// import it.
package apitest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/api/httpkit"
)

// DocumentMatchesRoutes checks that an OpenAPI document describes exactly
// the routes api has, and that each documented route reaches a handler. api
// is built without services, so its handlers may panic: that is a 500, not a
// missing route.
func DocumentMatchesRoutes(t *testing.T, api *httpkit.API, document []byte) {
	t.Helper()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(document, &doc); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	var documented, routed []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	for _, r := range api.Routes() {
		routed = append(routed, r.Method+" "+r.Path)
	}
	slices.Sort(documented)
	slices.Sort(routed)
	if !slices.Equal(documented, routed) {
		t.Fatalf("documented routes differ from the router's:\n documented %v\n routed     %v", documented, routed)
	}
	ids := strings.NewReplacer("{user_id}", "1", "{product_id}", "1", "{order_id}", "1", "{payment_id}", "1")
	for _, r := range api.Routes() {
		path := ids.Replace(r.Path)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, httptest.NewRequest(r.Method, path, strings.NewReader("{")))
		if rec.Code == http.StatusMethodNotAllowed || strings.Contains(rec.Body.String(), "no route") {
			t.Errorf("%s %s does not reach a handler: %d %s", r.Method, path, rec.Code, rec.Body)
		}
	}
}
