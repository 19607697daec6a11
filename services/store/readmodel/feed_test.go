package readmodel

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/store-manager/store-manager/services/platform/errs"
)

func TestParseStockChange(t *testing.T) {
	cases := []struct {
		in   string
		want StockChange
		ok   bool
	}{
		{"7 12 15 4", StockChange{ProductID: 7, Quantity: 12, Previous: 15, Version: 4}, true},
		{"7 12 -1 1", StockChange{ProductID: 7, Quantity: 12, Previous: -1, Version: 1}, true},
		{"7 12 15", StockChange{}, false},
		{"7 x 15 4", StockChange{}, false},
	}
	for _, tc := range cases {
		got, err := parseStockChange(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseStockChange(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// The feed delivers what each subscriber wants, drops one whose buffer is
// full without holding the others up, and bounds subscriptions per owner
// and in all.
func TestFeedFansOutAndDropsTheSlow(t *testing.T) {
	f := New(nil, "p:").NewFeed(FeedLimits{PerOwner: 2, Total: 3, Buffer: 2}, slog.Default())
	ctx := t.Context()
	all, err := f.Subscribe(ctx, "a", func(StockChange) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	odd, err := f.Subscribe(ctx, "a", func(c StockChange) bool { return c.ProductID%2 == 1 })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Subscribe(ctx, "a", func(StockChange) bool { return true }); !errors.Is(err, errs.TooMany) {
		t.Fatalf("a third subscription of one owner: %v", err)
	}
	if _, err := f.Subscribe(ctx, "b", func(StockChange) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Subscribe(ctx, "c", func(StockChange) bool { return true }); !errors.Is(err, errs.TooMany) {
		t.Fatalf("a subscription over the total: %v", err)
	}
	// odd reads as changes come; all and b's never read, and fall behind at the third.
	for id := int64(1); id <= 3; id++ {
		f.publish(StockChange{ProductID: id, Quantity: int32(id), Version: id})
		if id%2 == 1 {
			if c := <-odd; c.ProductID != id {
				t.Fatalf("odd got %+v, want product %d", c, id)
			}
		}
	}
	var got []int64
	for c := range all { // closed once dropped, after what it held
		got = append(got, c.ProductID)
	}
	if len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("the slow subscriber got %v before it was dropped, want [1 2]", got)
	}
	if n := f.Subscribers(); n != 1 {
		t.Fatalf("%d subscribers left, want odd's alone", n)
	}
	f.dropAll()
	if _, open := <-odd; open {
		t.Fatal("dropAll left a subscription open")
	}
}
