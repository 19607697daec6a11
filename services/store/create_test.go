package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrent orders are committed in groups: each order exactly once, by
// at most maxCommitters transactions at a time, and every caller returns
// with its own order's answer.
func TestOrderGroupsCommitEachOrderOnce(t *testing.T) {
	cases := []struct {
		name    string
		orders  int
		commit  time.Duration // how long one group's transaction takes
		grouped int64         // the largest group holds at least this many orders
	}{
		{"one order", 1, 0, 1},
		{"a few, fast", 8, 0, 1},
		{"many, slow commits", 200, 2 * time.Millisecond, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var g orderGroups
			var mu sync.Mutex
			committed := map[int64]int{}
			var running, most, largest atomic.Int64
			commit := func(group []*creating) {
				n := running.Add(1)
				defer running.Add(-1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				for l := largest.Load(); int64(len(group)) > l && !largest.CompareAndSwap(l, int64(len(group))); l = largest.Load() {
				}
				time.Sleep(tc.commit)
				mu.Lock()
				defer mu.Unlock()
				for _, c := range group {
					committed[c.userID]++
					c.id = c.userID * 10
				}
			}
			var wg sync.WaitGroup
			for i := range tc.orders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := &creating{ctx: context.Background(), userID: int64(i + 1), done: make(chan struct{}, 1)}
					g.submit(c, commit)
					if c.id != c.userID*10 {
						t.Errorf("order of user %d returned id %d, want %d", c.userID, c.id, c.userID*10)
					}
				}()
			}
			wg.Wait()
			for i := range tc.orders {
				if n := committed[int64(i+1)]; n != 1 {
					t.Errorf("order of user %d committed %d times, want once", i+1, n)
				}
			}
			if m := most.Load(); m > maxCommitters {
				t.Errorf("%d groups committed at once, want at most %d", m, maxCommitters)
			}
			if l := largest.Load(); l < tc.grouped || l > maxGroup {
				t.Errorf("largest group %d orders, want %d to %d", l, tc.grouped, maxGroup)
			}
			if g.committers != 0 || len(g.queue) != 0 {
				t.Errorf("after all: %d committers, %d orders queued; want none", g.committers, len(g.queue))
			}
		})
	}
}
