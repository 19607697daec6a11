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

// The janitor purges in batches until a batch comes back short, each tick,
// with the retention as the cut-off, and stops with its context.
func TestJanitorPurgesInBatches(t *testing.T) {
	cases := []struct {
		name    string
		batches []int64 // what successive calls report deleted
		err     error
		calls   int // calls expected in the first tick
	}{
		{"nothing to purge", []int64{0}, nil, 1},
		{"several batches", []int64{1000, 1000, 3}, nil, 3},
		{"error stops the tick", []int64{1000}, errors.New("db down"), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			var calls int
			var cutoffs []time.Time
			purge := func(_ context.Context, before time.Time, limit int32) (int64, error) {
				mu.Lock()
				defer mu.Unlock()
				if limit != 1000 {
					t.Errorf("limit = %d", limit)
				}
				cutoffs = append(cutoffs, before)
				calls++
				if calls == len(tc.batches) {
					cancel() // one tick is enough
				}
				if tc.err != nil {
					return 0, tc.err
				}
				return tc.batches[calls-1], nil
			}
			start := time.Now()
			done := make(chan error)
			go func() {
				done <- outbox.Janitor(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Hour, time.Millisecond, fakeBox(purge))
			}()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if calls != tc.calls {
				t.Fatalf("%d purge calls, want %d", calls, tc.calls)
			}
			if c := cutoffs[0]; c.After(start.Add(-time.Hour+time.Second)) || c.Before(start.Add(-time.Hour-time.Second)) {
				t.Fatalf("cut-off %v is not an hour before %v", c, start)
			}
		})
	}
}

// fakeBox is an outbox whose purge is a function and which counts no row left.
type fakeBox func(ctx context.Context, before time.Time, limit int32) (int64, error)

func (f fakeBox) PurgeOutbox(ctx context.Context, before time.Time, limit int32) (int64, error) {
	return f(ctx, before, limit)
}

func (fakeBox) CountOutbox(context.Context, time.Time) (int64, error) { return 0, nil }
