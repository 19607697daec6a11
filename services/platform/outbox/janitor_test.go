package outbox_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/platform/outbox"
)

// Each tick the janitor purges the outbox and then the inbox, each in batches
// until a batch comes back short, each with its own retention as the cut-off,
// and stops with its context.
func TestJanitorPurgesInBatches(t *testing.T) {
	keep := outbox.Retention{Outbox: time.Hour, Inbox: 8 * 24 * time.Hour}
	cases := []struct {
		name    string
		batches map[string][]int64 // what successive calls report deleted, per table
		err     error
		calls   map[string]int // calls expected in the first tick
	}{
		{"nothing to purge", map[string][]int64{"outbox": {0}, "inbox": {0}}, nil, map[string]int{"outbox": 1, "inbox": 1}},
		{"several batches", map[string][]int64{"outbox": {1000, 1000, 3}, "inbox": {1000, 7}}, nil, map[string]int{"outbox": 3, "inbox": 2}},
		{"error stops a table's tick, not the other's", map[string][]int64{"outbox": {1000}, "inbox": {1000}}, errors.New("db down"), map[string]int{"outbox": 1, "inbox": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			calls := map[string]int{}
			cutoffs := map[string]time.Time{}
			box := fakeBox(func(table string, before time.Time, limit int32) (int64, error) {
				mu.Lock()
				defer mu.Unlock()
				if limit != 1000 {
					t.Errorf("limit = %d", limit)
				}
				cutoffs[table] = before
				calls[table]++
				if table == "inbox" && calls[table] == len(tc.batches[table]) {
					cancel() // one tick is enough
				}
				if tc.err != nil {
					return 0, tc.err
				}
				return tc.batches[table][calls[table]-1], nil
			})
			start := time.Now()
			done := make(chan error)
			go func() {
				done <- outbox.Janitor(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), keep, time.Millisecond, box)
			}()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for table, want := range tc.calls {
				if calls[table] != want {
					t.Errorf("%s: %d purge calls, want %d", table, calls[table], want)
				}
			}
			for table, ret := range map[string]time.Duration{"outbox": keep.Outbox, "inbox": keep.Inbox} {
				if c := cutoffs[table]; c.After(start.Add(-ret+time.Second)) || c.Before(start.Add(-ret-time.Second)) {
					t.Errorf("%s: cut-off %v is not %v before %v", table, c, ret, start)
				}
			}
		})
	}
}

// fakeBox is an outbox and inbox whose purges are one function of the table's
// name, and which counts no row left.
type fakeBox func(table string, before time.Time, limit int32) (int64, error)

func (f fakeBox) PurgeOutbox(_ context.Context, before time.Time, limit int32) (int64, error) {
	return f("outbox", before, limit)
}

func (f fakeBox) PurgeInbox(_ context.Context, before time.Time, limit int32) (int64, error) {
	return f("inbox", before, limit)
}

func (fakeBox) CountOutbox(context.Context, time.Time) (int64, error) { return 0, nil }

func (fakeBox) CountInbox(context.Context, time.Time) (int64, error) { return 0, nil }
