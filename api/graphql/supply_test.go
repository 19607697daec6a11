package graphql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/store-manager/store-manager/api/graphql"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
	"github.com/store-manager/store-manager/testkit/gqltest"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/storetest"
)

// supplied serves GraphQL in-process for two suppliers, with the stock feed
// listening.
func supplied(t *testing.T, opts ...storetest.Option) (*stacktest.Client, string, storetest.System) {
	t.Helper()
	s := storetest.New(t, opts...)
	feed := s.Reads.NewFeed(readmodel.FeedLimits{PerOwner: 2}, slog.Default())
	go func() { _ = feed.Run(t.Context()) }()
	select {
	case <-feed.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the stock feed does not listen")
	}
	srv := serve(t, &graphql.Resolver{Store: s.Store, Feed: feed}, graphql.Options{Suppliers: []graphql.Supplier{
		{Name: "acme", Key: testKey}, {Name: "globex", Key: "globex-key"},
	}})
	c := stacktest.NewClient(srv.URL)
	c.Header = http.Header{graphql.SupplierKeyHeader: {testKey}}
	return c, srv.URL, s
}

func gql(t *testing.T, c *stacktest.Client, q string, vars map[string]any) stacktest.Response {
	t.Helper()
	return c.Do(t, "POST", "", map[string]any{"query": q, "variables": vars})
}

const restockMutation = `mutation($p: ID!, $q: Int!, $k: String) { restock(productId: $p, quantity: $q, idempotencyKey: $k) { quantity } }`

// A restock retried with its key adds nothing and returns the first
// result, even when the retries race; the key with other arguments is a
// clear conflict; the header carries a key as the argument does.
func TestRestockIsIdempotent(t *testing.T) {
	c, _, s := supplied(t)
	id := newProduct(t, s, 5)
	p := fmt.Sprint(id)
	first := gql(t, c, restockMutation, map[string]any{"p": p, "q": 10, "k": "delivery-1"})
	if !strings.Contains(string(first.Raw), `"quantity":15`) {
		t.Fatalf("first restock = %s", first.Raw)
	}
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Go(func() {
			answers[i] = string(gql(t, c, restockMutation, map[string]any{"p": p, "q": 10, "k": "delivery-1"}).Raw)
		})
	}
	wg.Wait()
	for _, a := range answers {
		if a != string(first.Raw) {
			t.Fatalf("a retry answered %s, want the first result %s", a, first.Raw)
		}
	}
	if r := gql(t, c, restockMutation, map[string]any{"p": p, "q": 11, "k": "delivery-1"}); r.Status != 200 || !strings.Contains(string(r.Raw), `"code":"CONFLICT"`) ||
		!strings.Contains(string(r.Raw), "was used for a restock of 10 units") {
		t.Fatalf("the key with another quantity = %d %s", r.Status, r.Raw)
	}
	// The same key sent in the header, twice.
	hc := *c
	hc.Header = c.Header.Clone()
	hc.Header.Set(graphql.IdempotencyKeyHeader, "delivery-2")
	for range 2 {
		if r := gql(t, &hc, restockMutation, map[string]any{"p": p, "q": 1}); !strings.Contains(string(r.Raw), `"quantity":16`) {
			t.Fatalf("restock keyed by header = %s", r.Raw)
		}
	}
	if r := gql(t, &hc, restockMutation, map[string]any{"p": p, "q": 1, "k": "delivery-3"}); !strings.Contains(string(r.Raw), "differ") {
		t.Fatalf("a header and an argument that differ = %d %s", r.Status, r.Raw)
	}
	stacktest.Eventually(t, 10*time.Second, "stock projected", func() bool {
		st, err := s.Store.ProductsByID(t.Context(), []int64{id})
		return err == nil && len(st) == 1 && st[0].Quantity == 16
	})
}

// restocks lists a supplier's own restocks, newest first, with their keys;
// another supplier sees none of them, and a caller without a key is refused.
func TestRestocksListsTheSuppliersOwn(t *testing.T) {
	c, _, s := supplied(t)
	a, b := newProduct(t, s, 1), newProduct(t, s, 1)
	gql(t, c, restockMutation, map[string]any{"p": fmt.Sprint(a), "q": 3, "k": "k-a"})
	gql(t, c, restockMutation, map[string]any{"p": fmt.Sprint(b), "q": 4})
	list := `query($p: ID) { restocks(productId: $p) { productId quantity stockAfter idempotencyKey restockedAt } }`
	r := gql(t, c, list, nil)
	var out struct {
		Data struct {
			Restocks []struct {
				ProductID      string
				Quantity       int
				StockAfter     int
				IdempotencyKey *string
				RestockedAt    time.Time
			}
		}
	}
	if err := json.Unmarshal(r.Raw, &out); err != nil {
		t.Fatal(err)
	}
	got := out.Data.Restocks
	if len(got) != 2 || got[0].ProductID != fmt.Sprint(b) || got[0].IdempotencyKey != nil ||
		got[1].ProductID != fmt.Sprint(a) || got[1].Quantity != 3 || got[1].StockAfter != 4 || *got[1].IdempotencyKey != "k-a" ||
		time.Since(got[1].RestockedAt) > time.Minute {
		t.Fatalf("restocks = %s", r.Raw)
	}
	if r := gql(t, c, list, map[string]any{"p": fmt.Sprint(a)}); strings.Count(string(r.Raw), "productId") != 1 {
		t.Fatalf("restocks of one product = %s", r.Raw)
	}
	other := *c
	other.Header = http.Header{graphql.SupplierKeyHeader: {"globex-key"}}
	if r := gql(t, &other, list, nil); string(r.Raw) != `{"data":{"restocks":[]}}` {
		t.Fatalf("another supplier's restocks = %s", r.Raw)
	}
	if r := gql(t, stacktest.NewClient(c.Base), list, nil); r.Status != 401 {
		t.Fatalf("restocks without a key = %d %s", r.Status, r.Raw)
	}
}

type change struct {
	ProductID        string
	Quantity         int
	PreviousQuantity *int
	Version          string
	Current          bool
}

const stockChangedSub = `subscription($ids: [ID!], $current: Boolean) { stockChanged(productIds: $ids, current: $current) { productId quantity previousQuantity version current } }`

// A subscriber asks for the current stock, then receives a restock and an
// order's decrement, in order, as the projector applies their events.
func TestSubscriptionReceivesRestockThenOrder(t *testing.T) {
	c, base, s := supplied(t)
	id := newProduct(t, s, 5)
	w, err := gqltest.Dial(t, base, map[string]any{"supplierKey": testKey})
	if err != nil {
		t.Fatal(err)
	}
	w.Subscribe(t, "1", stockChangedSub, map[string]any{"ids": []string{fmt.Sprint(id)}, "current": true})
	var now change
	w.Result(t, "stockChanged", &now)
	if !now.Current || now.Quantity != 5 || now.PreviousQuantity != nil {
		t.Fatalf("current value = %+v", now)
	}
	gql(t, c, restockMutation, map[string]any{"p": fmt.Sprint(id), "q": 10})
	var restocked change
	w.Result(t, "stockChanged", &restocked)
	if restocked.Current || restocked.Quantity != 15 || restocked.PreviousQuantity == nil || *restocked.PreviousQuantity != 5 {
		t.Fatalf("after the restock = %+v", restocked)
	}
	ctx := t.Context()
	user, err := s.Store.CreateUser(ctx, "Ada", "ada-"+stacktest.Suffix()+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.CreateOrder(ctx, user, []store.Item{{ProductID: id, Quantity: 3}}); err != nil {
		t.Fatal(err)
	}
	var sold change
	w.Result(t, "stockChanged", &sold)
	if sold.Quantity != 12 || *sold.PreviousQuantity != 15 || !(version(t, now) < version(t, restocked) && version(t, restocked) < version(t, sold)) {
		t.Fatalf("after the order = %+v (before: %+v, %+v)", sold, now, restocked)
	}
}

func version(t *testing.T, c change) int64 {
	t.Helper()
	var v int64
	if _, err := fmt.Sscan(c.Version, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// Subscribing needs a supplier key, a message is bounded as a request's body
// is, and a supplier holds a bounded number of subscriptions.
func TestSubscriptionsNeedAKeyAndAreBounded(t *testing.T) {
	_, base, s := supplied(t)
	if _, err := gqltest.Dial(t, base, nil); err == nil {
		t.Fatal("a WebSocket without a supplier key was accepted")
	}
	if _, err := gqltest.Dial(t, base, map[string]any{"supplierKey": "wrong"}); err == nil {
		t.Fatal("a WebSocket with a wrong supplier key was accepted")
	}
	big, err := gqltest.Dial(t, base, map[string]any{"supplierKey": testKey})
	if err != nil {
		t.Fatal(err)
	}
	big.Subscribe(t, "big", `subscription { lowStock(threshold: 1) { productId } } #`+strings.Repeat("x", 70<<10), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if m, err := big.Next(ctx); err == nil {
		t.Fatalf("a message over the body cap was read: %+v", m)
	}
	id := newProduct(t, s, 1)
	w, err := gqltest.Dial(t, base, map[string]any{"supplierKey": testKey})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"ids": []string{fmt.Sprint(id)}, "current": true}
	w.Subscribe(t, "1", stockChangedSub, vars)
	w.Result(t, "stockChanged", &change{})
	w.Subscribe(t, "2", stockChangedSub, vars)
	w.Result(t, "stockChanged", &change{})
	w.Subscribe(t, "3", stockChangedSub, vars) // PerOwner is 2
	m, err := w.Next(ctx)                      // a subscription's resolver error comes as its one result
	if err != nil || m.Type != "next" || m.ID != "3" || !strings.Contains(string(m.Payload), "TOO_MANY_REQUESTS") {
		t.Fatalf("a third subscription = %+v, %v", m, err)
	}
}

// Over server-sent events, lowStock pushes a change that takes a product to
// the threshold.
func TestLowStockOverServerSentEvents(t *testing.T) {
	_, base, s := supplied(t)
	id := newProduct(t, s, 9)
	lines := gqltest.Events(t, base, http.Header{graphql.SupplierKeyHeader: {testKey}},
		"subscription { lowStock(threshold: 3) { productId quantity previousQuantity } }")
	time.Sleep(200 * time.Millisecond) // the subscription is made once the stream opened; nothing else waits for it
	if _, err := s.Store.SetStock(t.Context(), id, 2); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-lines:
		want := fmt.Sprintf(`{"data":{"lowStock":{"productId":"%d","quantity":2,"previousQuantity":9}}}`, id)
		if l != want {
			t.Fatalf("event = %s, want %s", l, want)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no event")
	}
}

// Units sold by completed orders, the pace, and the days of stock left;
// lowStock by days left puts the product that runs out first first.
func TestSalesAndDaysLeft(t *testing.T) {
	c, _, s := supplied(t)
	ctx := t.Context()
	fast, idle, slow := newProduct(t, s, 16), newProduct(t, s, 4), newProduct(t, s, 10)
	user, err := s.Store.CreateUser(ctx, "Ada", "ada-"+stacktest.Suffix()+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range []store.Item{{ProductID: fast, Quantity: 6}, {ProductID: slow, Quantity: 2}} {
		order, err := s.Store.CreateOrder(ctx, user, []store.Item{it})
		if err != nil {
			t.Fatal(err)
		}
		stacktest.Eventually(t, 15*time.Second, "order completed", func() bool {
			o, err := s.Store.Order(ctx, order)
			return err == nil && o.Status == store.StatusCompleted
		})
	}
	// fast: 10 left, 6 sold in 30 days: 0.2 a day, 50 days. slow: 8 left, 2 sold: 120 days. idle: 4 left, none sold.
	r := gql(t, c, fmt.Sprintf(`{ product(id: "%d") { sales { lastDay last7Days last30Days dailyPace daysOfStockLeft } } }`, fast), nil)
	if want := `{"lastDay":6,"last7Days":6,"last30Days":6,"dailyPace":0.2,"daysOfStockLeft":50}`; !strings.Contains(string(r.Raw), want) {
		t.Fatalf("sales = %s, want %s", r.Raw, want)
	}
	stacktest.Eventually(t, 10*time.Second, "stock projected", func() bool {
		ps, err := s.Store.ProductsByID(ctx, []int64{fast, slow})
		return err == nil && len(ps) == 2 && ps[0].Quantity == 10 && ps[1].Quantity == 8
	})
	order := func(by string) string {
		r := gql(t, c, `query($by: LowStockOrder) { lowStock(threshold: 10, orderBy: $by) { id sales { daysOfStockLeft } } }`, map[string]any{"by": by})
		var out struct {
			Data struct{ LowStock []struct{ ID string } }
		}
		if err := json.Unmarshal(r.Raw, &out); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range out.Data.LowStock {
			ids = append(ids, p.ID)
		}
		return strings.Join(ids, ",")
	}
	if got, want := order("QUANTITY"), fmt.Sprintf("%d,%d,%d", idle, slow, fast); got != want {
		t.Fatalf("lowStock by quantity = %s, want %s", got, want)
	}
	if got, want := order("DAYS_LEFT"), fmt.Sprintf("%d,%d,%d", fast, slow, idle); got != want {
		t.Fatalf("lowStock by days left = %s, want %s", got, want)
	}
}

// A page of 100 products with every field, sales included, costs one
// database query and two Redis round trips (the page's ids, then every
// product in one pipeline), not one per product.
func TestAPageCostsBoundedRoundTrips(t *testing.T) {
	c, _, s := supplied(t, storetest.CountRoundTrips())
	var last int64
	for range 100 {
		id, err := s.Store.CreateProduct(t.Context(), "Nut", "N-"+stacktest.Suffix(), "0.10")
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	stacktest.Eventually(t, 20*time.Second, "products projected", func() bool {
		ps, err := s.Reads.ProductsByID(t.Context(), []int64{last})
		return err == nil && len(ps) == 1
	})
	q := `{ products(first: 100) { items { id name sku price quantity sales { lastDay last7Days last30Days dailyPace daysOfStockLeft } } hasNextPage } }`
	// The fewest of three runs: the first opens connections, and a connection
	// found broken is retried on another (database/sql), which is not the
	// query's cost.
	sqlTrips, redisTrips := int64(1<<62), int64(1<<62)
	var runs []string
	for range 3 {
		sql0, redis0 := s.SQLTrips.Count(), s.RedisTrips.Count()
		s.SQLTrips.Take()
		r := gql(t, c, q, nil)
		runs = append(runs, fmt.Sprintf("%d+%d %q", s.SQLTrips.Count()-sql0, s.RedisTrips.Count()-redis0, s.SQLTrips.Take()))
		sqlTrips, redisTrips = min(sqlTrips, s.SQLTrips.Count()-sql0), min(redisTrips, s.RedisTrips.Count()-redis0)
		if n := strings.Count(string(r.Raw), `"sales":{`); n != 100 {
			t.Fatalf("%d products with sales, want 100: %.300s", n, r.Raw)
		}
	}
	if sqlTrips != 1 || redisTrips != 2 {
		t.Fatalf("a page of 100 took at least %d database and %d Redis round trips (runs, with their last statements: %v), want 1 and 2", sqlTrips, redisTrips, runs)
	}
}

// A stream outlives the server's read and write timeouts, which bound
// ordinary requests: a change made after them still reaches a WebSocket
// and a server-sent events stream.
func TestStreamsOutliveTheServersTimeouts(t *testing.T) {
	s := storetest.New(t)
	feed := s.Reads.NewFeed(readmodel.FeedLimits{}, slog.Default())
	go func() { _ = feed.Run(t.Context()) }()
	<-feed.Ready()
	h, err := graphql.NewHandler(&graphql.Resolver{Store: s.Store, Feed: feed}, graphql.Options{SupplierKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	id := newProduct(t, s, 7)
	w, err := gqltest.Dial(t, srv.URL, map[string]any{"supplierKey": testKey})
	if err != nil {
		t.Fatal(err)
	}
	w.Subscribe(t, "1", stockChangedSub, map[string]any{"ids": []string{fmt.Sprint(id)}})
	events := gqltest.Events(t, srv.URL, http.Header{graphql.SupplierKeyHeader: {testKey}},
		fmt.Sprintf(`subscription { stockChanged(productIds: ["%d"]) { quantity } }`, id))
	time.Sleep(time.Second) // past both timeouts
	if _, err := s.Store.SetStock(t.Context(), id, 3); err != nil {
		t.Fatal(err)
	}
	var c change
	w.Result(t, "stockChanged", &c)
	if c.Quantity != 3 {
		t.Fatalf("WebSocket change = %+v", c)
	}
	select {
	case e := <-events:
		if e != `{"data":{"stockChanged":{"quantity":3}}}` {
			t.Fatalf("event = %s", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream ended or stayed silent")
	}
}

// In allowlist mode, over the real store, a registered query sent by its
// hash runs, a WebSocket's registered subscription runs, and any other
// query is refused before it is parsed, over HTTP and over a WebSocket.
func TestAllowlistModeRunsOnlyRegisteredQueries(t *testing.T) {
	s := storetest.New(t)
	feed := s.Reads.NewFeed(readmodel.FeedLimits{}, slog.Default())
	go func() { _ = feed.Run(t.Context()) }()
	<-feed.Ready()
	srv := serve(t, &graphql.Resolver{Store: s.Store, Feed: feed}, graphql.Options{SupplierKey: testKey, Queries: graphql.QueriesAllowlist})
	c := stacktest.NewClient(srv.URL)
	id := newProduct(t, s, 6)
	m, err := graphql.CommittedManifest()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]graphql.ManifestOperation{}
	for _, op := range m.Operations {
		registered[op.Name] = op
	}
	level := registered["StockLevel"]
	r := c.Do(t, "POST", "", map[string]any{
		"variables":  map[string]any{"productId": fmt.Sprint(id)},
		"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": level.ID}},
	})
	if string(r.Raw) != `{"data":{"stockLevel":6}}` {
		t.Fatalf("a registered query by its hash = %d %s", r.Status, r.Raw)
	}
	if r := query(t, c, fmt.Sprintf(`{ stockLevel(productId: "%d") }`, id)); r.Status != 400 || !strings.Contains(string(r.Raw), "PERSISTED_QUERY_NOT_ALLOWED") {
		t.Fatalf("an unregistered query = %d %s", r.Status, r.Raw)
	}
	w, err := gqltest.Dial(t, srv.URL, map[string]any{"supplierKey": testKey})
	if err != nil {
		t.Fatal(err)
	}
	w.Subscribe(t, "free", `subscription { lowStock(threshold: 9) { productId } }`, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// gqlgen answers an operation it refuses with one result that holds the error, then completes it.
	if msg, err := w.Next(ctx); err != nil || msg.ID != "free" || !strings.Contains(string(msg.Payload), `"data":null`) ||
		!strings.Contains(string(msg.Payload), "PERSISTED_QUERY_NOT_ALLOWED") {
		t.Fatalf("an unregistered subscription = %+v, %v", msg, err)
	}
	if msg, err := w.Next(ctx); err != nil || msg.Type != "complete" {
		t.Fatalf("after the refusal = %+v, %v", msg, err)
	}
	w.Subscribe(t, "known", registered["LowStockChanged"].Body, map[string]any{"threshold": 9, "current": true})
	var c0 change
	w.Result(t, "lowStock", &c0)
	if !c0.Current || c0.ProductID != fmt.Sprint(id) || c0.Quantity != 6 {
		t.Fatalf("a registered subscription's current value = %+v", c0)
	}
}

// A stranger's mistakes are the client's errors: a time that is not one, and
// server-sent events without a supplier key, refused before the stream starts.
func TestSupplierInputsAreRefusedClearly(t *testing.T) {
	c, base, _ := supplied(t)
	if r := gql(t, c, `{ restocks(since: "yesterday") { id } }`, nil); !strings.Contains(string(r.Raw), `"code":"BAD_USER_INPUT"`) ||
		!strings.Contains(string(r.Raw), "RFC 3339") {
		t.Fatalf("restocks since a non-time = %d %s", r.Status, r.Raw)
	}
	for _, key := range []string{"", "wrong"} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", base, strings.NewReader(`{"query":"subscription { lowStock(threshold: 1) { productId } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		if key != "" {
			req.Header.Set(graphql.SupplierKeyHeader, key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[string]int{"": 401, "wrong": 403}[key]; resp.StatusCode != want || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("events with key %q = %d %s, want %d JSON", key, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
}
