package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/store-manager/store-manager/testkit/stacktest"
)

// lockOrder reads in one statement what the three list queries read: the
// order, its items in product order and its history oldest first, details
// and times included; a missing order is not found.
func TestLockOrderReadsWhatTheListsRead(t *testing.T) {
	db := stacktest.Open(t, stacktest.MigratedDatabase(t, "store"))
	ctx := context.Background()
	d, err := Prepare(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	exec := func(q string, args ...any) int64 {
		t.Helper()
		r, err := db.Exec(q, args...)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := r.LastInsertId()
		return id
	}
	user := exec(`INSERT INTO users (name, email) VALUES ('Lock', ?)`, "lock-"+stacktest.Suffix()+"@example.com")
	var products []int64
	for _, price := range []string{"19.99", "0.50", "1200.00"} {
		products = append(products, exec(`INSERT INTO products (name, sku, price) VALUES ('P', ?, ?)`, "L-"+stacktest.Suffix(), price))
	}
	cases := []struct {
		name    string
		items   []int // indexes into products, inserted in this order
		details []any // one step per detail (nil: no detail)
	}{
		{"one item, one step", []int{0}, []any{nil}},
		{"items out of order, a long history", []int{2, 0, 1}, []any{nil, `payment 7 "quoted" é ✓`, nil, "timed out: the saga did not end within 10m0s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := exec(`INSERT INTO orders (user_id, total_amount, status) VALUES (?, '1.00', 'Created')`, user)
			for n, i := range tc.items {
				exec(`INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (?, ?, ?, (SELECT price FROM products WHERE id = ?))`,
					id, products[i], n+1, products[i])
			}
			for n, detail := range tc.details {
				exec(`INSERT INTO order_steps (order_id, event, status, detail) VALUES (?, ?, 'Created', ?)`, id, "Step"+string(rune('A'+n)), detail)
			}
			q := d.Queries()
			o, ok, err := lockOrder(ctx, q, id)
			if err != nil || !ok {
				t.Fatalf("lockOrder: ok %v, %v", ok, err)
			}
			wantOrder, err := q.GetOrder(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			wantItems, err := q.ListOrderItems(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			wantSteps, err := q.ListOrderSteps(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o.Order, wantOrder) || !reflect.DeepEqual(o.items, wantItems) || !reflect.DeepEqual(o.steps, wantSteps) {
				t.Fatalf("lockOrder read\n%+v\n%+v\n%+v\nthe lists read\n%+v\n%+v\n%+v", o.Order, o.items, o.steps, wantOrder, wantItems, wantSteps)
			}
		})
	}
	if _, ok, err := lockOrder(ctx, d.Queries(), 1<<40); ok || err != nil {
		t.Fatalf("a missing order: ok %v, %v", ok, err)
	}
}
