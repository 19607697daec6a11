package storeapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/store-manager/store-manager/api/storeapi"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/apitest"
)

func TestOpenAPIMatchesRouter(t *testing.T) {
	apitest.DocumentMatchesRoutes(t, storeapi.New(nil, http.NotFoundHandler(), nil, storeapi.Access{}), storeapi.OpenAPI)
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
	if err := json.Unmarshal(storeapi.OpenAPI, &doc); err != nil {
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
