package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/stacktest"
	"github.com/store-manager/store-manager/services/store"
)

func countOutbox(t *testing.T, db *sql.DB, id string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// State and outbox rows commit together through the sqlc queries, or not at all.
func TestExecCommitsStateAndEventsTogether(t *testing.T) {
	db := stacktest.Open(t, stacktest.MigratedDatabase(t, "store"))
	ctx := context.Background()
	binder, err := store.Prepare(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer binder.Close()

	errFail := errors.New("step failed")
	cases := []struct {
		name    string
		fail    error
		persist bool
	}{
		{"commit", nil, true},
		{"rollback", errFail, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sku := "TX-" + stacktest.Suffix()
			var productID int64
			var event outbox.Event
			err := binder.Exec(ctx, func(q store.Queries) ([]outbox.Event, error) {
				id, err := q.CreateProduct(ctx, storedb.CreateProductParams{Name: "Round trip", Sku: sku, Price: "12.34"})
				if err != nil {
					return nil, err
				}
				productID = id
				if err := q.SetStock(ctx, storedb.SetStockParams{ProductID: id, Quantity: 7}); err != nil {
					return nil, err
				}
				event, err = outbox.New("txntest", sku, "ProductCreated", map[string]any{"id": id})
				if err != nil {
					return nil, err
				}
				return []outbox.Event{event}, tc.fail
			})
			if !errors.Is(err, tc.fail) {
				t.Fatalf("Exec = %v, want %v", err, tc.fail)
			}

			q := binder.Queries()
			p, perr := q.GetProduct(ctx, productID)
			s, serr := q.GetStock(ctx, productID)
			if !tc.persist {
				if !errors.Is(perr, sql.ErrNoRows) || !errors.Is(serr, sql.ErrNoRows) || countOutbox(t, db, event.ID) != 0 {
					t.Fatalf("rolled-back command left state behind: product %v, stock %v, outbox %d", perr, serr, countOutbox(t, db, event.ID))
				}
				return
			}
			if perr != nil || serr != nil {
				t.Fatalf("read back: %v %v", perr, serr)
			}
			if p.Sku != sku || p.Price != "12.34" || s.Quantity != 7 || s.Version != 1 {
				t.Fatalf("read back product %+v stock %+v", p, s)
			}
			if countOutbox(t, db, event.ID) != 1 {
				t.Fatal("outbox row missing after commit")
			}
			if _, err := db.Exec(`DELETE FROM products WHERE id = ?`, productID); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An event handled twice through ExecOnce has a single effect: the second
// time, fn does not run and nothing is written.
func TestExecOnceSkipsAProcessedEvent(t *testing.T) {
	db := stacktest.Open(t, stacktest.MigratedDatabase(t, "store"))
	ctx := context.Background()
	binder, err := store.Prepare(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer binder.Close()
	eventID, consumer := "00000000-0000-7000-8000-"+stacktest.Suffix(), "txn-test"
	runs := 0
	for range 2 {
		err := binder.ExecOnce(ctx, consumer, eventID, func(store.Queries) ([]outbox.Event, error) {
			runs++
			return nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if runs != 1 {
		t.Fatalf("fn ran %d times for one event, want 1", runs)
	}
}
