package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/cenkalti/backoff/v5"

	"github.com/store-manager/store-manager/services/platform/consumer"
)

func TestRegistryLookup(t *testing.T) {
	reg := consumer.NewRegistry()
	var got string
	consumer.Handle(reg, "OrderCreated", func(context.Context, consumer.Message, json.RawMessage) error { got = "type"; return nil })
	consumer.HandleTopic(reg, "orders", func(context.Context, consumer.Message, json.RawMessage) error { got = "topic"; return nil })
	cases := []struct {
		msg   consumer.Message
		found bool
		want  string
	}{
		{consumer.Message{Topic: "orders", Type: "OrderCreated", Payload: []byte(`{}`)}, true, "type"},
		{consumer.Message{Topic: "payments", Type: "OrderCreated", Payload: []byte(`{}`)}, true, "type"},
		{consumer.Message{Topic: "orders", Type: "SagaCompleted", Payload: []byte(`{}`)}, true, "topic"},
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
	consumer.Handle(reg, "X", func(context.Context, consumer.Message, json.RawMessage) error { return nil })
	defer func() {
		if recover() == nil {
			t.Fatal("a second handler for the same type was accepted")
		}
	}()
	consumer.Handle(reg, "X", func(context.Context, consumer.Message, json.RawMessage) error { return nil })
}

// A typed handler gets its payload decoded; a payload that does not decode
// is a permanent failure, never retried.
func TestHandleDecodesPayloads(t *testing.T) {
	reg := consumer.NewRegistry()
	var got struct{ N int }
	consumer.Handle(reg, "Counted", func(_ context.Context, _ consumer.Message, p struct{ N int }) error {
		got = p
		return nil
	})
	h, _ := reg.Lookup(consumer.Message{Type: "Counted"})
	if err := h(context.Background(), consumer.Message{Type: "Counted", Payload: []byte(`{"N": 7}`)}); err != nil || got.N != 7 {
		t.Fatalf("= %v, payload %+v", err, got)
	}
	err := h(context.Background(), consumer.Message{Type: "Counted", Payload: []byte(`{"N": "seven"}`)})
	var permanent *backoff.PermanentError
	if !errors.As(err, &permanent) {
		t.Fatalf("undecodable payload = %v, want a permanent error", err)
	}
}
