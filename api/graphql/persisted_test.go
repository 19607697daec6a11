package graphql

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// Every query of the committed manifest is named by its hash, validates
// against the schema, and is the one operation of its name and type.
func TestCommittedManifestMatchesTheSchema(t *testing.T) {
	m, err := CommittedManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Operations) == 0 {
		t.Fatal("the manifest registers no query")
	}
	for _, op := range m.Operations {
		doc, err := parser.ParseQuery(&ast.Source{Input: op.Body})
		if err != nil {
			t.Fatalf("%s: %v", op.Name, err)
		}
		if errs := validator.Validate(testSchema, doc); len(errs) > 0 {
			t.Fatalf("%s: %v", op.Name, errs)
		}
		if len(doc.Operations) != 1 || doc.Operations[0].Name != op.Name || string(doc.Operations[0].Operation) != op.Type {
			t.Fatalf("%s: the body's operation is not %s %s", op.Name, op.Type, op.Name)
		}
	}
}

func TestPolicyResolvesQueries(t *testing.T) {
	const registered = "query Q { stockLevel(productId: \"1\") }"
	m := Manifest{Format: ManifestFormat, Version: 1, Operations: []ManifestOperation{{ID: QueryHash(registered), Name: "Q", Type: "query", Body: registered}}}
	pq := func(hash string) map[string]any {
		return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
	}
	other := "{ products { hasNextPage } }"
	cases := []struct {
		name  string
		mode  QueryMode
		query string
		ext   map[string]any
		want  string // the query run; "" when refused
		code  string
	}{
		{"open: a query", QueriesOpen, other, nil, other, ""},
		{"open: an unknown hash alone", QueriesOpen, "", pq(QueryHash(other)), "", "PERSISTED_QUERY_NOT_FOUND"},
		{"open: a query with its hash", QueriesOpen, other, pq(QueryHash(other)), other, ""},
		{"open: a hash that is not the query's", QueriesOpen, other, pq(QueryHash(registered)), "", "BAD_REQUEST"},
		{"open: a malformed extension", QueriesOpen, "", map[string]any{"persistedQuery": "x"}, "", "BAD_REQUEST"},
		{"allowlist: a registered hash", QueriesAllowlist, "", pq(QueryHash(registered)), registered, ""},
		{"allowlist: a registered text", QueriesAllowlist, registered, nil, registered, ""},
		{"allowlist: another query", QueriesAllowlist, other, nil, "", "PERSISTED_QUERY_NOT_ALLOWED"},
		{"allowlist: text that does not parse", QueriesAllowlist, "{ (((", nil, "", "PERSISTED_QUERY_NOT_ALLOWED"},
		{"allowlist: an unknown hash", QueriesAllowlist, "", pq(QueryHash(other)), "", "PERSISTED_QUERY_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newPolicy(tc.mode, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.resolve(tc.query, tc.ext)
			var re *requestError
			switch {
			case tc.code == "" && (err != nil || got != tc.want):
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			case tc.code != "" && (!errors.As(err, &re) || re.code != tc.code):
				t.Fatalf("= %q, %v; want %s", got, err, tc.code)
			}
		})
	}
	// A hash is looked up once its query was sent with it (and checked).
	p, _ := newPolicy(QueriesOpen, m)
	p.apq.Add(t.Context(), QueryHash(other), other)
	if got, err := p.resolve("", pq(QueryHash(other))); err != nil || got != other {
		t.Fatalf("after the query was stored: %q, %v", got, err)
	}
	if _, err := newPolicy("closed", m); err == nil {
		t.Fatal("an unknown mode is accepted")
	}
}

// The handler answers a request with no query, or an unregistered one in
// allowlist mode, with a JSON error and a 4xx before any resolver runs.
func TestHandlerRefusesBeforeParsing(t *testing.T) {
	cases := []struct {
		name   string
		mode   QueryMode
		body   string
		status int
		code   string
	}{
		{"no query", QueriesOpen, `{}`, http.StatusBadRequest, "a query is required"},
		{"an APQ hash not known yet", QueriesOpen, `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("ab", 32) + `"}}}`, http.StatusOK, "PERSISTED_QUERY_NOT_FOUND"},
		{"unregistered in allowlist mode", QueriesAllowlist, `{"query":"{ product(id: \"1\") { id } }"}`, http.StatusBadRequest, "PERSISTED_QUERY_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHandler(&Resolver{}, Options{Queries: tc.mode})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/graphql", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(w, req)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.code) || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("= %d %s %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
		})
	}
}

func TestManifestRegister(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"a named query", "query Level($p: ID!) { stockLevel(productId: $p) }", true},
		{"the same name again replaces it", "query Level($p: ID!) { stockLevel(productId: $p) } ", true},
		{"a subscription", "subscription Low { lowStock(threshold: 2) { productId } }", true},
		{"anonymous", "{ stockLevel(productId: \"1\") }", false},
		{"two operations", "query A { __typename } query B { __typename }", false},
		{"an unknown field", "query Colour { product(id: \"1\") { colour } }", false},
		{"does not parse", "query Broken {", false},
	}
	var m Manifest
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op, err := m.Register(tc.body)
			if (err == nil) != tc.ok {
				t.Fatalf("= %+v, %v", op, err)
			}
			if tc.ok && op.ID != QueryHash(tc.body) {
				t.Fatalf("id %s is not the body's hash", op.ID)
			}
		})
	}
	if len(m.Operations) != 2 || m.Operations[0].Name != "Level" || m.Operations[1].Name != "Low" {
		t.Fatalf("manifest = %+v", m.Operations)
	}
}
