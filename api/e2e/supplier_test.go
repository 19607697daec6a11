package e2e_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/api/graphql"
	"github.com/store-manager/store-manager/testkit/gqltest"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

type stockChange struct {
	ProductID        string
	Quantity         int
	PreviousQuantity *int
	Current          bool
}

// Through the gateway, a supplier's WebSocket receives the stock, then one change for a restock retried with its key (the retry adds
// nothing), then the next restock's.
func TestSupplierStreamThroughTheGateway(t *testing.T) {
	s := systemkit.New(t)
	id := s.Product(t, "2.50", 4)
	w, err := gqltest.Dial(t, systemkit.GatewayURL()+"/graphql/stream", map[string]any{"supplierKey": systemkit.SupplierKey()})
	if err != nil {
		t.Fatal(err)
	}
	w.Subscribe(t, "s", `subscription($ids: [ID!]) { stockChanged(productIds: $ids, current: true) { productId quantity previousQuantity current } }`,
		map[string]any{"ids": []string{fmt.Sprint(id)}})
	// The current value, or, while the product is still on its way to the
	// read model, the changes that bring it there.
	for c := (stockChange{}); c.Quantity != 4; {
		w.Result(t, "stockChanged", &c)
	}
	supplier := systemkit.Supplier()
	restock := func(q int, key string) {
		r := supplier.Do(t, "POST", "/graphql", map[string]any{
			"query":     `mutation($p: ID!, $q: Int!, $k: String) { restock(productId: $p, quantity: $q, idempotencyKey: $k) { quantity } }`,
			"variables": map[string]any{"p": fmt.Sprint(id), "q": q, "k": key},
		})
		if r.Status != 200 || !strings.Contains(string(r.Raw), `"restock":{"quantity":`) {
			t.Fatalf("restock = %d %s", r.Status, r.Raw)
		}
	}
	key := "e2e-" + stacktest.Suffix()
	restock(6, key)
	restock(6, key) // a retry after a lost answer
	restock(1, key+"-next")
	for _, want := range []int{10, 11} {
		var c stockChange
		w.Result(t, "stockChanged", &c)
		if c.Current || c.Quantity != want {
			t.Fatalf("change = %+v, want %d units", c, want)
		}
	}
}

// Through the gateway, server-sent events carry a lowStock subscription.
func TestSupplierEventsThroughTheGateway(t *testing.T) {
	s := systemkit.New(t)
	id := s.Product(t, "2.50", 50)
	events := gqltest.Events(t, systemkit.GatewayURL()+"/graphql/stream", http.Header{graphql.SupplierKeyHeader: {systemkit.SupplierKey()}},
		"subscription { lowStock(threshold: 1) { productId quantity } }")
	time.Sleep(300 * time.Millisecond) // the subscription is made once the stream opened
	if r := s.Store.Do(t, "POST", "/stocks", map[string]any{"product_id": id, "quantity": 1}); r.Status >= 300 {
		t.Fatalf("set stock = %d %s", r.Status, r.Raw)
	}
	want := fmt.Sprintf(`"productId":"%d","quantity":1`, id)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-events:
			if strings.Contains(e, want) {
				return
			}
		case <-deadline:
			t.Fatal("no event for the product")
		}
	}
}

// Automatic persisted queries through the gateway: a hash the server does
// not know is answered PERSISTED_QUERY_NOT_FOUND, then the query sent with
// its hash runs, then the hash alone runs it, by GET.
func TestPersistedQueriesThroughTheGateway(t *testing.T) {
	stacktest.Stack(t)
	c := stacktest.NewClient(systemkit.GatewayURL())
	query := fmt.Sprintf(`{ stockLevel(productId: "999999999") } # %s`, stacktest.Suffix())
	ext := fmt.Sprintf(`{"persistedQuery":{"version":1,"sha256Hash":"%s"}}`, graphql.QueryHash(query))
	byHash := "/graphql?extensions=" + url.QueryEscape(ext)
	if r := c.Do(t, "GET", byHash, nil); !strings.Contains(string(r.Raw), "PERSISTED_QUERY_NOT_FOUND") {
		t.Fatalf("an unknown hash = %d %s", r.Status, r.Raw)
	}
	if r := c.Do(t, "POST", "/graphql", `{"query": `+fmt.Sprintf("%q", query)+`, "extensions": `+ext+`}`); string(r.Raw) != `{"data":{"stockLevel":null}}` {
		t.Fatalf("the query with its hash = %d %s", r.Status, r.Raw)
	}
	if r := c.Do(t, "GET", byHash, nil); r.Status != 200 || string(r.Raw) != `{"data":{"stockLevel":null}}` {
		t.Fatalf("the hash alone, once known = %d %s", r.Status, r.Raw)
	}
}

// A browser's WebSocket through the gateway is accepted from the gateway's
// own origin, and refused from another.
func TestSupplierStreamOrigins(t *testing.T) {
	stacktest.Stack(t)
	stream := systemkit.GatewayURL() + "/graphql/stream"
	key := map[string]any{"supplierKey": systemkit.SupplierKey()}
	if _, err := gqltest.DialWith(t, stream, http.Header{"Origin": {systemkit.GatewayURL()}}, key); err != nil {
		t.Fatalf("from the gateway's origin: %v", err)
	}
	if _, err := gqltest.DialWith(t, stream, http.Header{"Origin": {"http://elsewhere.example"}}, key); err == nil {
		t.Fatal("a WebSocket from another origin was accepted")
	}
}
