package rest_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/api/rest"
	"github.com/store-manager/store-manager/services/store"
)

// The OpenAPI documents describe exactly the routes the routers have, and
// each documented route reaches a handler.
func TestOpenAPIMatchesRouters(t *testing.T) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // handlers without services panic below
	apis := []struct {
		name string
		api  *rest.API
		doc  []byte
	}{
		{"store-manager", rest.NewStore(nil, http.NotFoundHandler(), nil, rest.EmployeeKey("")), rest.StoreOpenAPI()},
		{"payments", rest.NewPayments(nil, nil, rest.ServiceKey("")), rest.PaymentsOpenAPI()},
	}
	for _, a := range apis {
		t.Run(a.name, func(t *testing.T) {
			var doc struct {
				OpenAPI string                                `json:"openapi"`
				Paths   map[string]map[string]json.RawMessage `json:"paths"`
			}
			if err := json.Unmarshal(a.doc, &doc); err != nil {
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
			for _, r := range a.api.Routes() {
				routed = append(routed, r.Method+" "+r.Path)
			}
			slices.Sort(documented)
			slices.Sort(routed)
			if !slices.Equal(documented, routed) {
				t.Fatalf("documented routes differ from the router's:\n documented %v\n routed     %v", documented, routed)
			}
			for _, r := range a.api.Routes() {
				path := strings.NewReplacer("{user_id}", "0", "{product_id}", "0", "{order_id}", "0", "{payment_id}", "0").Replace(r.Path)
				rec := httptest.NewRecorder()
				a.api.ServeHTTP(rec, httptest.NewRequest(r.Method, path, strings.NewReader("{")))
				if rec.Code == http.StatusMethodNotAllowed || strings.Contains(rec.Body.String(), "no route") {
					t.Errorf("%s %s does not reach a handler: %d %s", r.Method, path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// The document states the same text rules the store enforces.
func TestOpenAPIPatternsAreTheStoreRules(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Pattern string `json:"pattern"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rest.StoreOpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Components.Schemas
	cases := []struct {
		schema, field, want string
	}{
		{"NewUser", "name", store.NamePattern},
		{"NewProduct", "name", store.NamePattern},
		{"NewProduct", "sku", store.NamePattern},
		{"UpdateOrder", "payment_link", store.LinkPattern},
	}
	for _, tc := range cases {
		if got := s[tc.schema].Properties[tc.field].Pattern; got != tc.want {
			t.Errorf("%s.%s pattern = %q, want %q", tc.schema, tc.field, got, tc.want)
		}
	}
}
