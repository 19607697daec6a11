package consumer_test

import (
	"context"
	"testing"

	"github.com/store-manager/store-manager/services/platform/consumer"
)

func TestRegistryLookup(t *testing.T) {
	reg := consumer.NewRegistry()
	var got string
	reg.Handle("OrderCreated", func(context.Context, consumer.Message) error { got = "type"; return nil })
	reg.HandleTopic("orders", func(context.Context, consumer.Message) error { got = "topic"; return nil })
	cases := []struct {
		msg   consumer.Message
		found bool
		want  string
	}{
		{consumer.Message{Topic: "orders", Type: "OrderCreated"}, true, "type"},
		{consumer.Message{Topic: "payments", Type: "OrderCreated"}, true, "type"},
		{consumer.Message{Topic: "orders", Type: "SagaCompleted"}, true, "topic"},
		{consumer.Message{Topic: "stocks", Type: "StockUpdated"}, false, ""},
	}
	for _, tc := range cases {
		got = ""
		h, ok := reg.Lookup(tc.msg)
		if ok != tc.found {
			t.Fatalf("%+v: found = %t", tc.msg, ok)
		}
		if ok {
			_ = h(context.Background(), tc.msg)
		}
		if got != tc.want {
			t.Errorf("%+v went to %q, want %q", tc.msg, got, tc.want)
		}
	}
}

func TestRegistryRefusesSecondHandler(t *testing.T) {
	reg := consumer.NewRegistry()
	reg.Handle("X", func(context.Context, consumer.Message) error { return nil })
	defer func() {
		if recover() == nil {
			t.Fatal("a second handler for the same type was accepted")
		}
	}()
	reg.Handle("X", func(context.Context, consumer.Message) error { return nil })
}
