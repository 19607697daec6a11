package readmodel_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/storetest"
)

type env struct {
	prefix string
	db     *sql.DB
	rdb    *redis.Client
	rm     *readmodel.Store
	svc    *store.Service
	reg    *consumer.Registry
}

// newEnv builds the store on the test's own data, its saga and projector
// running, and a projector registry of its own for replays.
func newEnv(t *testing.T) env {
	t.Helper()
	s := storetest.New(t)
	reg := consumer.NewRegistry()
	s.Reads.Register(reg)
	return env{prefix: s.Prefix, db: s.StoreDB, rdb: s.Redis, rm: s.Reads, svc: s.Store, reg: reg}
}

// outboxEvents reads the events a command wrote for one aggregate, as Kafka would carry them.
func outboxEvents(t *testing.T, db *sql.DB, topic string, key int64) []consumer.Message {
	t.Helper()
	rows, err := db.Query(`SELECT id, type, payload FROM outbox WHERE aggregatetype = ? AND aggregateid = ? ORDER BY created_at, id`, topic, fmt.Sprint(key))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []consumer.Message
	for rows.Next() {
		m := consumer.Message{Topic: topic, Key: fmt.Sprint(key)}
		if err := rows.Scan(&m.ID, &m.Type, &m.Payload); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// replay applies msgs shuffled, each twice, through the projector's handlers.
func (e env) replay(t *testing.T, msgs []consumer.Message) {
	t.Helper()
	all := append(append([]consumer.Message(nil), msgs...), msgs...)
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, m := range all {
		h, ok := e.reg.Lookup(m)
		if !ok {
			continue
		}
		if err := h(context.Background(), m); err != nil {
			t.Fatalf("apply %s: %v", m.Type, err)
		}
	}
}

func TestProjectorConvergesUnderDuplicatesAndReordering(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, err := e.svc.CreateProduct(ctx, "Lamp", "P-"+stacktest.Suffix(), "19.90")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []int64{5, 17, 3, 42, 8} {
		if _, err := e.svc.SetStock(ctx, id, q); err != nil {
			t.Fatal(err)
		}
	}
	msgs := append(outboxEvents(t, e.db, events.TopicProducts, id), outboxEvents(t, e.db, events.TopicStocks, id)...)
	if len(msgs) != 7 {
		t.Fatalf("got %d product and stock events, want 7", len(msgs))
	}
	for round := 0; round < 5; round++ {
		e.rdb.Del(ctx, fmt.Sprintf("%sproduct:%d", e.prefix, id))
		e.replay(t, msgs)
		p, presence, err := e.rm.Product(ctx, id)
		if err != nil || presence != store.Present {
			t.Fatalf("round %d: product %d: %v %v", round, id, presence, err)
		}
		if p.Quantity != 8 || p.StockVersion != 6 || p.Name != "Lamp" || p.Price != "19.90" {
			t.Fatalf("round %d: read model %+v, want the database's quantity 8 at version 6", round, p)
		}
	}

	// A deletion is final, whatever arrives after it.
	if err := e.svc.DeleteProduct(ctx, id); err != nil {
		t.Fatal(err)
	}
	e.replay(t, append(outboxEvents(t, e.db, events.TopicProducts, id), outboxEvents(t, e.db, events.TopicStocks, id)...))
	if _, presence, _ := e.rm.Product(ctx, id); presence != store.Deleted {
		t.Fatalf("deleted product came back: %v", presence)
	}
}

// orderOne creates a user and a product with 10 in stock, and orders one of it.
func (e env) orderOne(t *testing.T, productName, price string) int64 {
	t.Helper()
	ctx := context.Background()
	user, err := e.svc.CreateUser(ctx, "Order Tester", "o-"+stacktest.Suffix()+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	product, err := e.svc.CreateProduct(ctx, productName, "P-"+stacktest.Suffix(), price)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetStock(ctx, product, 10); err != nil {
		t.Fatal(err)
	}
	order, err := e.svc.CreateOrder(ctx, user, []store.Item{{ProductID: product, Quantity: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return order
}

func TestOrderProjectionConverges(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	order := e.orderOne(t, "Cup", "4.00")
	if err := e.svc.UpdateOrder(ctx, order, false, nil); err != nil { // one more event in the order's story
		t.Fatal(err)
	}
	// Wait for the saga to finish, so the outbox holds the order's whole story.
	stacktest.Eventually(t, 20*time.Second, "saga done", func() bool {
		var status string
		err := e.db.QueryRow(`SELECT status FROM orders WHERE id = ?`, order).Scan(&status)
		return err == nil && (status == store.StatusCompleted || status == store.StatusCancelled)
	})
	var version int64
	var status string
	if err := e.db.QueryRow(`SELECT version, status FROM orders WHERE id = ?`, order).Scan(&version, &status); err != nil {
		t.Fatal(err)
	}
	msgs := outboxEvents(t, e.db, events.TopicOrders, order)
	for round := 0; round < 5; round++ {
		e.rdb.Del(ctx, fmt.Sprintf("%sorder:%d", e.prefix, order))
		e.replay(t, msgs)
		o, presence, err := e.rm.Order(ctx, order)
		if err != nil || presence != store.Present || o.Version != version || o.Status != status {
			t.Fatalf("round %d: read model %v v%d %s (%v), want v%d %s", round, presence, o.Version, o.Status, err, version, status)
		}
	}
}

// A rebuild from the database leaves the read model equal to it: every
// product with its stock, and every order with its items and history.
func TestRebuildMatchesDatabase(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	user, err := e.svc.CreateUser(ctx, "Rebuild Tester", "r@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var products []int64
	for i, qty := range []int64{5, 0, 12} {
		id, err := e.svc.CreateProduct(ctx, fmt.Sprint("Item ", i), fmt.Sprint("RB-", i), "2.50")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetStock(ctx, id, qty); err != nil {
			t.Fatal(err)
		}
		products = append(products, id)
	}
	order, err := e.svc.CreateOrder(ctx, user, []store.Item{{ProductID: products[0], Quantity: 2}})
	if err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 20*time.Second, "saga done", func() bool {
		o, presence, err := e.rm.Order(ctx, order)
		return err == nil && presence == store.Present && o.Status == store.StatusCompleted
	})

	rm := readmodel.New(e.rdb, "rebuildtest:"+stacktest.Suffix()+":")
	t.Cleanup(func() { _ = rm.Reset(context.Background()) })
	if err := rm.Rebuild(ctx, e.svc); err != nil {
		t.Fatal(err)
	}
	details, stocks, err := e.svc.ProductSnapshots(ctx)
	if err != nil || len(details) != len(products) || len(stocks) != len(products) {
		t.Fatalf("products in the database: %d, %d (%v); want %d", len(details), len(stocks), err, len(products))
	}
	for i, p := range details {
		want := store.Product{Product: p, Quantity: stocks[i].Quantity, StockVersion: stocks[i].Version}
		got, presence, err := rm.Product(ctx, p.ID)
		if err != nil || presence != store.Present || got != want {
			t.Errorf("product %d: rebuilt %+v (%v, %v), database %+v", p.ID, got, presence, err, want)
		}
	}
	want, err := e.svc.OrderSnapshots(ctx, order-1, 1)
	if err != nil || len(want) != 1 {
		t.Fatalf("read order %d: %v", order, err)
	}
	got, presence, err := rm.Order(ctx, order)
	if err != nil || presence != store.Present || got.Version != want[0].Version || len(got.Steps) != len(want[0].Steps) || got.Status != want[0].Status {
		t.Errorf("order %d: rebuilt %+v (%v, %v), database %+v", order, got, presence, err, want[0])
	}
}

// Lists come from the sorted sets: products in id order after a cursor, and
// low stock lowest first; deleted products leave both.
func TestLists(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rm := readmodel.New(e.rdb, "liststest:"+stacktest.Suffix()+":")
	t.Cleanup(func() { _ = rm.Reset(context.Background()) })
	for id, q := range map[int64]int32{1: 7, 2: 0, 3: 3, 4: 12, 5: 3} {
		if err := rm.PutProduct(ctx, events.Product{ID: id, Name: fmt.Sprint("p", id), SKU: fmt.Sprint("S", id), Price: "1.00"}); err != nil {
			t.Fatal(err)
		}
		if err := rm.PutStock(ctx, events.Stock{ProductID: id, Quantity: q, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rm.DeleteProduct(ctx, 5); err != nil {
		t.Fatal(err)
	}
	ids := func(list []store.Product, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int64, len(list))
		for i, p := range list {
			out[i] = p.ID
		}
		return out
	}
	cases := []struct {
		name string
		got  []int64
		want []int64
	}{
		{"first page", ids(rm.Products(ctx, 0, 2)), []int64{1, 2}},
		{"after a cursor", ids(rm.Products(ctx, 2, 10)), []int64{3, 4}},
		{"past the end", ids(rm.Products(ctx, 4, 10)), []int64{}},
		{"low stock", ids(rm.LowStock(ctx, 7, 10)), []int64{2, 3, 1}},
		{"low stock, limited", ids(rm.LowStock(ctx, 100, 2)), []int64{2, 3}},
		{"nothing that low", ids(rm.LowStock(ctx, -1, 10)), []int64{}},
	}
	for _, tc := range cases {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// Every step an order's saga announces reaches the read model, each with a
// newer version: the running saga and projector leave the read model's
// order equal to the database's, for a completed order and for one whose
// OrderCreated was dead-lettered (OrderCreationFailed, then SagaCompleted).
func TestEverySagaEventReachesTheReadModel(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	order := e.orderOne(t, "Mug", "3.00")
	projected := func(want []string) {
		t.Helper()
		stacktest.Eventually(t, 20*time.Second, fmt.Sprintf("steps %v in the read model", want), func() bool {
			o, presence, err := e.rm.Order(ctx, order)
			if err != nil || presence != store.Present {
				return false
			}
			var got []string
			for _, st := range o.Steps {
				got = append(got, st.Event)
			}
			return slices.Equal(got, want)
		})
		fromDB, err := e.svc.OrderSnapshots(ctx, order-1, 1)
		if err != nil || len(fromDB) != 1 {
			t.Fatalf("read order %d: %v", order, err)
		}
		o, _, _ := e.rm.Order(ctx, order)
		if o.Version != fromDB[0].Version || o.Status != fromDB[0].Status || len(o.Steps) != len(fromDB[0].Steps) {
			t.Fatalf("read model v%d %s %d steps; database v%d %s %d steps",
				o.Version, o.Status, len(o.Steps), fromDB[0].Version, fromDB[0].Status, len(fromDB[0].Steps))
		}
	}
	projected([]string{"OrderCreated", "StockDecreased", "PaymentCreated", "SagaCompleted"})

	// The order's OrderCreated kept failing: the store flags it, and the
	// OrderCreationFailed it announces closes the saga with SagaCompleted.
	created := outboxEvents(t, e.db, events.TopicOrders, order)[0]
	if err := e.svc.DeadLetter(ctx, created, fmt.Errorf("poison")); err != nil {
		t.Fatal(err)
	}
	projected([]string{"OrderCreated", "StockDecreased", "PaymentCreated", "SagaCompleted", "OrderCreationFailed", "SagaCompleted"})
}

// A product or an order reads the same through the client's own round trips
// and through pipelines shared by concurrent reads (BatchReads): present,
// deleted or missing.
func TestBatchedReadsReadTheSame(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prefix := "batchtest:" + stacktest.Suffix() + ":"
	plain := readmodel.New(e.rdb, prefix)
	t.Cleanup(func() { _ = plain.Reset(context.Background()) })
	ap, err := e.rdb.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	batched := readmodel.New(e.rdb, prefix)
	batched.BatchReads(ap)
	for id := int64(1); id <= 3; id++ {
		if err := plain.PutProduct(ctx, events.Product{ID: id, Name: fmt.Sprint("p", id), SKU: fmt.Sprint("S", id), Price: "2.50"}); err != nil {
			t.Fatal(err)
		}
		if err := plain.PutStock(ctx, events.Stock{ProductID: id, Quantity: int32(10 * id), Version: 1}); err != nil {
			t.Fatal(err)
		}
		if err := plain.PutOrder(ctx, events.Order{ID: id, UserID: 7, Status: "Completed", Version: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := plain.DeleteProduct(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := plain.PutOrder(ctx, events.Order{ID: 3, Deleted: true, Version: 3}); err != nil {
		t.Fatal(err)
	}
	type read struct {
		product          store.Product
		order            events.Order
		ofProduct, ofOrd store.Presence
	}
	readAll := func(rm *readmodel.Store) map[int64]read {
		out := map[int64]read{}
		for id := int64(1); id <= 4; id++ {
			p, pp, err := rm.Product(ctx, id)
			if err != nil {
				t.Error(err)
			}
			o, op, err := rm.Order(ctx, id)
			if err != nil {
				t.Error(err)
			}
			out[id] = read{p, o, pp, op}
		}
		return out
	}
	want := readAll(plain)
	if want[1].ofProduct != store.Present || want[1].product.Quantity != 10 || want[3].ofProduct != store.Deleted ||
		want[4].ofProduct != store.Missing || want[1].ofOrd != store.Present || want[3].ofOrd != store.Deleted || want[4].ofOrd != store.Missing {
		t.Fatalf("plain reads: %+v", want)
	}
	// Many at once, so that reads share pipelines.
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := readAll(batched)
			for id, w := range want {
				g := got[id]
				if g.ofProduct != w.ofProduct || g.product != w.product || g.ofOrd != w.ofOrd || g.order.ID != w.order.ID || g.order.Status != w.order.Status {
					t.Errorf("id %d: batched %+v, plain %+v", id, g, w)
				}
			}
		}()
	}
	wg.Wait()
}
