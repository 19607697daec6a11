package graphql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/api/graphql"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/storetest"
)

const testKey = "test-supplier-key"

// inProcess serves GraphQL from this test process over the test's own
// databases and read models.
func inProcess(t *testing.T) (*stacktest.Client, storetest.System) {
	t.Helper()
	s := storetest.New(t)
	srv := serve(t, &graphql.Resolver{Store: s.Store, Feed: s.Reads.NewFeed(readmodel.FeedLimits{}, slog.Default())}, graphql.Options{SupplierKey: testKey})
	return stacktest.NewClient(srv.URL), s
}

// serve serves GraphQL for r with o from this test process until the test ends.
func serve(t *testing.T, r *graphql.Resolver, o graphql.Options) *httptest.Server {
	t.Helper()
	h, err := graphql.NewHandler(r, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func query(t *testing.T, c *stacktest.Client, q string) stacktest.Response {
	t.Helper()
	return c.Do(t, "POST", "", map[string]any{"query": q})
}

// newProduct creates a product with stock and waits until the read model has it.
func newProduct(t *testing.T, s storetest.System, quantity int64) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := s.Store.CreateProduct(ctx, "Bolt", "G-"+stacktest.Suffix(), "0.35")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.SetStock(ctx, id, quantity); err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 10*time.Second, "product projected", func() bool {
		p, presence, err := s.Reads.Product(ctx, id)
		return err == nil && presence == store.Present && int64(p.Quantity) == quantity
	})
	return id
}

func TestQueries(t *testing.T) {
	c, svc := inProcess(t)
	id := newProduct(t, svc, 3)
	cases := []struct {
		name, query string
		want        string
	}{
		{"original product query", fmt.Sprintf(`{ product(id: "%d") { id name sku price quantity } }`, id),
			fmt.Sprintf(`"product":{"id":"%d","name":"Bolt",`, id)},
		{"price is an exact number", fmt.Sprintf(`{ product(id: "%d") { price } }`, id), `"price":0.35`},
		{"original stock level query", fmt.Sprintf(`{ stockLevel(productId: "%d") }`, id), `{"data":{"stockLevel":3}}`},
		{"unknown product is null", `{ product(id: "999999999") { id } }`, `{"data":{"product":null}}`},
		{"unknown stock level is null", `{ stockLevel(productId: "999999999") }`, `{"data":{"stockLevel":null}}`},
		{"bad id", `{ product(id: "abc") { id } }`, `id must be a positive integer`},
		{"bad page size", `{ products(first: 0) { hasNextPage } }`, `first must be between 1 and 100`},
		{"negative threshold", `{ lowStock(threshold: -1) { id } }`, `threshold must be between`},
		{"unknown field", `{ product(id: "1") { colour } }`, `Cannot query field`},
		{"syntax error", `{ product(id: "1") { id `, `"errors"`},
		{"too deep", `{ products { items { a { b { c { d { e } } } } } } }`, `levels deep`},
		{"introspection", `{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }`, `"__schema":{"types":[`},
		{"too complex", manyAliases(35, id), "complexity"},
		{"too many fields", manyAliases(60, id), "QUERY_TOO_COMPLEX"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := query(t, c, tc.query)
			if !strings.Contains(string(r.Raw), tc.want) {
				t.Fatalf("%s\n= %d %s\nwant it to contain %s", tc.query, r.Status, r.Raw, tc.want)
			}
			if strings.Contains(string(r.Raw), "sql") || strings.Contains(string(r.Raw), "redis") {
				t.Fatalf("response shows internals: %s", r.Raw)
			}
		})
	}
}

// manyAliases asks for one product n times, to go over the complexity limit.
func manyAliases(n int, id int64) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ` a%d: product(id: "%d") { id name sku price quantity }`, i, id)
	}
	return b.String() + "}"
}

// lowStock answers products at or under the threshold, lowest first, at most
// first of them (what exactly it holds is the read model's test).
func TestLowStock(t *testing.T) {
	c, svc := inProcess(t)
	newProduct(t, svc, 2)
	var res struct {
		Data struct {
			LowStock []struct{ Quantity int }
		}
	}
	r := query(t, c, `{ lowStock(threshold: 2, first: 5) { quantity } }`)
	if err := json.Unmarshal(r.Raw, &res); err != nil || len(res.Data.LowStock) == 0 || len(res.Data.LowStock) > 5 {
		t.Fatalf("lowStock = %s", r.Raw)
	}
	for i, p := range res.Data.LowStock {
		if p.Quantity > 2 || (i > 0 && p.Quantity < res.Data.LowStock[i-1].Quantity) {
			t.Fatalf("lowStock = %s: not all at most 2, lowest first", r.Raw)
		}
	}
}

func TestProductsPaging(t *testing.T) {
	c, svc := inProcess(t)
	a, b := newProduct(t, svc, 5), newProduct(t, svc, 6)
	r := query(t, c, fmt.Sprintf(`{ products(first: 1, after: "%d") { items { id quantity } endCursor hasNextPage } }`, a-1))
	want := fmt.Sprintf(`{"data":{"products":{"items":[{"id":"%d","quantity":5}],"endCursor":"%d","hasNextPage":true}}}`, a, a)
	if string(r.Raw) != want {
		t.Fatalf("first page = %s, want %s", r.Raw, want)
	}
	// Following the cursor one product at a time reaches b in increasing id
	// order (other tests may add products in between).
	cursor := strconv.FormatInt(a, 10)
	for seen := a; seen != b; {
		var page struct {
			Data struct {
				Products struct {
					Items     []struct{ ID string }
					EndCursor string
				}
			}
		}
		r := query(t, c, fmt.Sprintf(`{ products(first: 1, after: "%s") { items { id } endCursor } }`, cursor))
		if err := json.Unmarshal(r.Raw, &page); err != nil || len(page.Data.Products.Items) != 1 {
			t.Fatalf("page after %s = %s", cursor, r.Raw)
		}
		next, _ := strconv.ParseInt(page.Data.Products.Items[0].ID, 10, 64)
		if next <= seen || next > b {
			t.Fatalf("after %d came %d; want an id in (%d, %d]", seen, next, seen, b)
		}
		seen, cursor = next, page.Data.Products.EndCursor
	}
}

func TestRestockNeedsSupplierKey(t *testing.T) {
	c, svc := inProcess(t)
	id := newProduct(t, svc, 10)
	mutation := fmt.Sprintf(`mutation { restock(productId: "%d", quantity: 15) { id quantity } }`, id)
	cases := []struct {
		name, key, query string
		status           int
		want             string
	}{
		{"no key", "", mutation, 401, "UNAUTHENTICATED"},
		{"wrong key", "nope", mutation, 403, "FORBIDDEN"},
		{"zero quantity", testKey, fmt.Sprintf(`mutation { restock(productId: "%d", quantity: 0) { id } }`, id), 200, "quantity must be between 1"},
		{"unknown product", testKey, `mutation { restock(productId: "999999999", quantity: 1) { id } }`, 200, "NOT_FOUND"},
		{"good key", testKey, mutation, 200, fmt.Sprintf(`{"data":{"restock":{"id":"%d","quantity":25}}}`, id)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.Header = map[string][]string{}
			if tc.key != "" {
				c.Header.Set(graphql.SupplierKeyHeader, tc.key)
			}
			r := query(t, c, tc.query)
			if r.Status != tc.status || !strings.Contains(string(r.Raw), tc.want) {
				t.Fatalf("= %d %s; want %d containing %s", r.Status, r.Raw, tc.status, tc.want)
			}
		})
	}
	stacktest.Eventually(t, 10*time.Second, "read model restocked to 25", func() bool {
		p, err := svc.Store.Product(context.Background(), id)
		return err == nil && p.Quantity == 25
	})
}

// The running store-manager answers the original's GraphQL body at its original route.
func TestOverHTTP(t *testing.T) {
	stacktest.Stack(t)
	c := stacktest.NewClient(stacktest.Instance(t).StoreURL())
	r := c.Do(t, "POST", "/stocks/graphql-query", `{"query": "{ stockLevel(productId: \"1\") }", "variables": {}}`)
	if r.Status != 200 || !strings.Contains(string(r.Raw), `"stockLevel"`) {
		t.Fatalf("= %d %s", r.Status, r.Raw)
	}
	c.Header = map[string][]string{graphql.SupplierKeyHeader: {"wrong"}}
	r = c.Do(t, "POST", "/graphql", `{"query": "mutation { restock(productId: \"1\", quantity: 1) { id } }"}`)
	if r.Status != 403 {
		t.Fatalf("restock with a wrong key over HTTP = %d %s", r.Status, r.Raw)
	}
}

// A request's work stops at the server's own deadline: the answer says so,
// as a client error code, and shows no internals.
func TestDeadlineStopsTheRequest(t *testing.T) {
	s := storetest.New(t)
	srv := serve(t, &graphql.Resolver{Store: s.Store}, graphql.Options{SupplierKey: testKey, Timeout: time.Nanosecond})
	r := query(t, stacktest.NewClient(srv.URL), `{ products(first: 5) { items { id } } }`)
	if !strings.Contains(string(r.Raw), `"TIMEOUT"`) || strings.Contains(string(r.Raw), "internal") {
		t.Fatalf("= %d %s, want a TIMEOUT error", r.Status, r.Raw)
	}
}

// The costly documents of the trust-boundary review are refused over HTTP
// with a JSON GraphQL error, and a body over the cap with 413.
func TestCostlyRequestsAreRefusedOverHTTP(t *testing.T) {
	c, _ := inProcess(t)
	fanOut := `{ product(id: \"1\") { ...F0 } }`
	for i := range 24 {
		fanOut += fmt.Sprintf(` fragment F%d on Product { ...F%d ...F%d }`, i, i+1, i+1)
	}
	fanOut += ` fragment F24 on Product { id }`
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"fragment fan-out", `{"query": "` + fanOut + `"}`, 400, "QUERY_TOO_COMPLEX"},
		{"repeated fields", `{"query": "{ product(id: \"1\") { ` + strings.Repeat("id ", 4000) + `} }"}`, 400, "QUERY_TOO_COMPLEX"},
		{"body over 64 KiB", `{"query": "{ product(id: \"1\") { ` + strings.Repeat("id ", 30000) + `} }"}`, 413, "BODY_TOO_LARGE"},
		{"malformed JSON is not echoed", `{"query": "{ secret-body-text`, 400, "must be a JSON object"},
		{"original's empty variables", `{"query": "{ stockLevel(productId: \"999999999\") }", "variables": ""}`, 200, `{"data":{"stockLevel":null}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do(t, "POST", "", tc.body)
			if r.Status != tc.status || !strings.Contains(string(r.Raw), tc.want) {
				t.Fatalf("= %d %s, want %d containing %s", r.Status, r.Raw, tc.status, tc.want)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q", ct)
			}
			if strings.Contains(string(r.Raw), "secret-body-text") {
				t.Fatal("the error echoes the request body")
			}
		})
	}
}
