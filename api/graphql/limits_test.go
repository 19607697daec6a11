package graphql

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// introspectionQuery is the query GraphiQL and most supplier tools send.
const introspectionQuery = `query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`

// fragmentFanOut spreads each fragment twice into the next: 2^levels fields
// in about 40 bytes a level.
func fragmentFanOut(levels int) string {
	var b strings.Builder
	b.WriteString(`{ product(id: "1") { ...F0 } }`)
	for i := range levels {
		fmt.Fprintf(&b, " fragment F%d on Product { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Product { id }", levels)
	return b.String()
}

func repeat(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// Every known way to make validation expensive is refused by the guard,
// before validation: by its own error code, never by gqlgen's.
func TestGuardRefusesCostlyDocumentsBeforeValidation(t *testing.T) {
	g := newGuard(Limits{}, testSchema)
	cases := []struct {
		name, query, code string
	}{
		{"fragment fan-out, 24 levels", fragmentFanOut(24), "QUERY_TOO_COMPLEX"},
		{"fragment fan-out, 60 levels", fragmentFanOut(60), "QUERY_TOO_COMPLEX"},
		{"4000 repeated fields", `{ product(id: "1") { ` + strings.Repeat("id ", 4000) + `} }`, "QUERY_TOO_COMPLEX"},
		{"alias bomb", "{ " + repeat(`a%d: product(id: "1") { id } `, 300) + "}", "QUERY_TOO_COMPLEX"},
		{"directive bomb", `{ product(id: "1") { id ` + strings.Repeat("@include(if: true) ", 40) + `} }`, "QUERY_TOO_COMPLEX"},
		{"many spreads of one fragment", `{ product(id: "1") { ` + strings.Repeat("...F ", 70) + `} } fragment F on Product { id }`, "QUERY_TOO_COMPLEX"},
		{"too many tokens", "{ " + repeat(`a%d: stockLevel(productId: "1") `, 2000) + "}", "QUERY_TOO_LARGE"},
		{"introspection too deep", `{ __schema { types { ` + strings.Repeat("ofType { ", 16) + "name" + strings.Repeat(" }", 16) + ` } } }`, "QUERY_TOO_DEEP"},
		{"data too deep", `{ product(id: "1") { ` + strings.Repeat("a { ", 7) + "b" + strings.Repeat(" }", 7) + ` } }`, "QUERY_TOO_DEEP"},
		{"syntax error", `{ product(id: "1") { id `, "GRAPHQL_PARSE_FAILED"},
		{"fragment cycle", `{ product(id: "1") { ...A } } fragment A on Product { ...B } fragment B on Product { ...A }`, "GRAPHQL_VALIDATION_FAILED"},
		{"unused fragment of repeated fields", `{ __typename } fragment U on Product { ` + strings.Repeat("id ", 4900) + `}`, "GRAPHQL_VALIDATION_FAILED"},
		{"unused small fragment", `{ __typename } fragment U on Product { id }`, "GRAPHQL_VALIDATION_FAILED"},
		{"duplicate fragment name", `{ product(id: "1") { ...U } } fragment U on Product { id } fragment U on Product { ` + strings.Repeat("id ", 4000) + `}`, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown field", `{ product(id: "1") { nope } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"no operation", `fragment U on Product { id }`, "GRAPHQL_VALIDATION_FAILED"},
		{"introspection is allowed", introspectionQuery, ""},
		{"an ordinary query is allowed", `{ product(id: "1") { id name sku price quantity } }`, ""},
		{"a mutation is allowed over POST", `mutation { restock(productId: "1", quantity: 1) { id } }`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.check(t.Context(), http.MethodPost, tc.query)
			var re *requestError
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && (!errors.As(err, &re) || re.code != tc.code):
				t.Fatalf("= %v, want a %s refusal", err, tc.code)
			}
		})
	}
}

// testSchema is the schema the guard validates against.
var testSchema = NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()

// Validation stops at once when the request's context has ended, and the
// verdict is not cached: the same query is checked again next time.
func TestGuardStopsValidationWhenTheRequestEnds(t *testing.T) {
	g := newGuard(Limits{}, testSchema)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	query := `{ product(id: "1") { id name } }`
	_, err := g.check(ctx, http.MethodPost, query)
	var re *requestError
	if !errors.As(err, &re) || re.code != "TIMEOUT" {
		t.Fatalf("= %v, want a TIMEOUT refusal", err)
	}
	if doc, err := g.check(t.Context(), http.MethodPost, query); err != nil || doc == nil {
		t.Fatalf("the same query with time left = %v, %v; want its document", doc, err)
	}
}

// The verdict cache is keyed by the query's hash: a refused query's text is
// not kept, and a long accepted query's document is not kept either.
func TestGuardCacheKeepsNoQueryText(t *testing.T) {
	g := newGuard(Limits{}, testSchema)
	long := `{ product(id: "` + strings.Repeat("9", 8<<10) + `") { id } }`
	refused := `{ __typename } fragment U on Product { id }` + strings.Repeat(" ", 8<<10)
	for _, q := range []string{long, refused} {
		_, _ = g.check(t.Context(), http.MethodPost, q)
	}
	if g.checked.Len() != 2 {
		t.Fatalf("%d verdicts cached, want 2", g.checked.Len())
	}
	for _, key := range g.checked.Keys() { // keys are hashes by type
		if v, _ := g.checked.Peek(key); v.doc != nil {
			t.Fatalf("the document of a %d-byte query is cached", len(long))
		}
	}
}

// POST carries JSON only, so that a web page cannot send a query without
// a CORS preflight.
func TestGuardReadsJSONPostsOnly(t *testing.T) {
	g := newGuard(Limits{}, testSchema)
	for _, tc := range []struct {
		contentType string
		ok          bool
	}{
		{"application/json", true},
		{"application/json; charset=utf-8", true},
		{"application/graphql+json", true},
		{"text/plain", false},
		{"application/x-www-form-urlencoded", false},
		{"multipart/form-data; boundary=x", false},
		{"", false},
	} {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query": "{ __typename }"}`))
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		_, err := g.read(httptest.NewRecorder(), req)
		var re *requestError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%q refused: %v", tc.contentType, err)
		case !tc.ok && (!errors.As(err, &re) || re.status != http.StatusUnsupportedMediaType):
			t.Errorf("%q = %v, want 415", tc.contentType, err)
		}
	}
}

// GET carries queries only.
func TestGuardRefusesMutationsOverGET(t *testing.T) {
	g := newGuard(Limits{}, testSchema)
	_, err := g.check(t.Context(), http.MethodGet, `mutation { restock(productId: "1", quantity: 1) { id } }`)
	var re *requestError
	if !errors.As(err, &re) || re.status != http.StatusBadRequest {
		t.Fatalf("= %v, want a 400 refusal", err)
	}
}

// The body is read only up to its cap, and "variables" is read as the
// original's clients send it.
func TestGuardReadsRequests(t *testing.T) {
	g := newGuard(Limits{}, testSchema)
	cases := []struct {
		name, method, body string
		status             int // 0: accepted
		noVariables        bool
	}{
		{"empty variables string", "POST", `{"query": "{ stockLevel(productId: \"1\") }", "variables": ""}`, 0, true},
		{"null variables", "POST", `{"query": "{ x }", "variables": null}`, 0, true},
		{"object variables", "POST", `{"query": "{ x }", "variables": {"a": 1}}`, 0, false},
		{"variables of another type", "POST", `{"query": "{ x }", "variables": [1]}`, http.StatusBadRequest, false},
		{"not JSON", "POST", `{"query": `, http.StatusBadRequest, false},
		{"query not a string", "POST", `{"query": 5}`, http.StatusBadRequest, false},
		{"over the body cap", "POST", `{"query": "{ x }", "pad": "` + strings.Repeat("x", 70<<10) + `"}`, http.StatusRequestEntityTooLarge, false},
		{"other method", "PUT", `{"query": "{ x }"}`, http.StatusMethodNotAllowed, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/graphql", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			got, err := g.read(httptest.NewRecorder(), req)
			var re *requestError
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.status != 0 && (!errors.As(err, &re) || re.status != tc.status):
				t.Fatalf("= %v, want status %d", err, tc.status)
			case tc.status == 0 && tc.noVariables != (got.Variables == nil):
				t.Fatalf("variables = %s", got.Variables)
			}
			if err != nil && strings.Contains(err.Error(), "query") && strings.Contains(err.Error(), tc.body) && len(tc.body) > 10 {
				t.Fatalf("the error echoes the body: %v", err)
			}
		})
	}
}

// BenchmarkGuardFanOut is the cost of refusing the 24-level fragment fan-out.
func BenchmarkGuardFanOut(b *testing.B) {
	g := newGuard(Limits{}, testSchema)
	q := fragmentFanOut(24)
	for b.Loop() {
		if g.judge(b.Context(), q).err == nil {
			b.Fatal("accepted")
		}
	}
}
