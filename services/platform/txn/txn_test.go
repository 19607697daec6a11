package txn_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

func countOutbox(t *testing.T, db *sql.DB, id string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// prepared is a scratch store database with the store's statements prepared on it.
func prepared(t *testing.T) (*sql.DB, *store.DB) {
	t.Helper()
	db := stacktest.Open(t, stacktest.MigratedDatabase(t, "store"))
	binder, err := store.Prepare(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { binder.Close() })
	return db, binder
}

// State and outbox rows commit together through the sqlc queries, or not at all.
func TestExecCommitsStateAndEventsTogether(t *testing.T) {
	ctx := context.Background()
	db, binder := prepared(t)

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
	ctx := context.Background()
	_, binder := prepared(t)
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

// A purge deletes the outbox and inbox rows older than its cut-off, and only those.
func TestPurgeKeepsYoungRows(t *testing.T) {
	ctx := context.Background()
	db, binder := prepared(t)
	cases := []struct {
		table  string
		insert string // one row, its age in days as the last argument
		purge  func(context.Context, time.Time, int32) (int64, error)
		count  func(context.Context, time.Time) (int64, error)
	}{
		{"outbox", `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, created_at)
			VALUES (UUID(), 'orders', '1', 'OrderCreated', '{}', UTC_TIMESTAMP(6) - INTERVAL ? DAY)`,
			binder.PurgeOutbox, binder.CountOutbox},
		{"processed_events", `INSERT INTO processed_events (consumer, event_id, processed_at)
			VALUES ('purge-test', UUID(), UTC_TIMESTAMP(6) - INTERVAL ? DAY)`,
			binder.PurgeInbox, binder.CountInbox},
	}
	for _, tc := range cases {
		t.Run(tc.table, func(t *testing.T) {
			for _, age := range []int{0, 0, 3, 9, 9, 9} {
				if _, err := db.ExecContext(ctx, tc.insert, age); err != nil {
					t.Fatal(err)
				}
			}
			before := time.Now().UTC().Add(-48 * time.Hour)
			if n, err := tc.count(ctx, before); err != nil || n != 4 {
				t.Fatalf("count before purge = %d, %v; want 4", n, err)
			}
			if n, err := tc.purge(ctx, before, 3); err != nil || n != 3 {
				t.Fatalf("first batch deleted %d, %v; want 3 (the limit)", n, err)
			}
			if n, err := tc.purge(ctx, before, 3); err != nil || n != 1 {
				t.Fatalf("second batch deleted %d, %v; want 1", n, err)
			}
			var left int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tc.table).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if left != 2 {
				t.Fatalf("%d rows left, want the 2 young ones", left)
			}
		})
	}
}

// Commands in a batch commit together; a command that fails inside it, even
// one whose error the caller handles, undoes the whole batch, and so does an
// event its consumer processed before (the caller then runs them one by one).
func TestBatchCommitsTogetherOrNotAtAll(t *testing.T) {
	ctx := context.Background()
	db, binder := prepared(t)
	errFail := errors.New("step failed")
	const consumer = "txn-batch-test"
	cases := []struct {
		name     string
		failures []error // of each command in the batch
		handled  bool    // the batch's caller ignores a command's error
		before   int     // the command whose event was processed before the batch, or -1
		want     error   // the batch's error, if it fails
	}{
		{"every command succeeds", []error{nil, nil, nil}, false, -1, nil},
		{"one fails", []error{nil, errFail, nil}, false, -1, errFail},
		{"one fails, its error handled", []error{nil, errFail, nil}, true, -1, errFail},
		{"one was processed before", []error{nil, nil, nil}, false, 1, txn.ErrProcessedBefore},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var eventIDs, outboxIDs []string
			for range tc.failures {
				eventIDs = append(eventIDs, "00000000-0000-7000-8000-"+stacktest.Suffix())
			}
			if tc.before >= 0 {
				if _, err := db.Exec(`INSERT INTO processed_events (consumer, event_id) VALUES (?, ?)`, consumer, eventIDs[tc.before]); err != nil {
					t.Fatal(err)
				}
			}
			err := binder.Batch(ctx, func(ctx context.Context) error {
				for i, fail := range tc.failures {
					err := binder.ExecOnce(ctx, consumer, eventIDs[i], func(store.Queries) ([]outbox.Event, error) {
						e, err := outbox.New("txntest", eventIDs[i], "Tested", map[string]any{"i": i})
						if err != nil {
							return nil, err
						}
						outboxIDs = append(outboxIDs, e.ID)
						return []outbox.Event{e}, fail
					})
					if err != nil && !tc.handled {
						return err
					}
				}
				return nil
			})
			if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Batch = %v, want %v", err, tc.want)
			}
			var outboxRows, inboxRows int
			for _, id := range outboxIDs {
				outboxRows += countOutbox(t, db, id)
			}
			for _, id := range eventIDs {
				var n int
				if err := db.QueryRow(`SELECT COUNT(*) FROM processed_events WHERE event_id = ?`, id).Scan(&n); err != nil {
					t.Fatal(err)
				}
				inboxRows += n
			}
			wantOutbox, wantInbox := 0, 0
			if tc.want == nil {
				wantOutbox, wantInbox = len(tc.failures), len(tc.failures)
			}
			if tc.before >= 0 {
				wantInbox = 1 // the record made before the batch
			}
			if outboxRows != wantOutbox || inboxRows != wantInbox {
				t.Fatalf("after the batch: %d outbox and %d inbox rows, want %d and %d", outboxRows, inboxRows, wantOutbox, wantInbox)
			}
		})
	}
}

// A batch the database rolls back to break a deadlock runs again: two
// batches that lock two stock rows in opposite orders both commit.
func TestBatchRunsAgainAfterADeadlock(t *testing.T) {
	ctx := context.Background()
	_, binder := prepared(t)
	var ids [2]int64
	for i := range ids {
		err := binder.Exec(ctx, func(q store.Queries) ([]outbox.Event, error) {
			id, err := q.CreateProduct(ctx, storedb.CreateProductParams{Name: "Deadlocked", Sku: "DL-" + stacktest.Suffix(), Price: "1.00"})
			ids[i] = id
			if err != nil {
				return nil, err
			}
			return nil, q.SetStock(ctx, storedb.SetStockParams{ProductID: id, Quantity: 1})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	lock := func(ctx context.Context, id int64) error {
		return binder.Exec(ctx, func(q store.Queries) ([]outbox.Event, error) {
			_, err := q.LockStocks(ctx, []int64{id})
			return nil, err
		})
	}
	var runs atomic.Int32
	locked := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	errc := make(chan error, 2)
	for first := range 2 {
		go func() {
			once := true // only the first run of each waits for the other: a run again just takes its locks
			errc <- binder.Batch(ctx, func(ctx context.Context) error {
				runs.Add(1)
				if err := lock(ctx, ids[first]); err != nil {
					return err
				}
				if once {
					once = false
					close(locked[first])
					<-locked[1-first]
				}
				return lock(ctx, ids[1-first])
			})
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("a batch failed: %v", err)
		}
	}
	if n := runs.Load(); n < 3 {
		t.Fatalf("the batches ran %d times: no deadlock happened, so nothing was tested", n)
	}
}
