package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

func header(m *kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// An outbox row committed in a transaction reaches its routed topic through
// Debezium with the aggregate id as key, the type in a header and the payload
// as JSON; a rolled-back row never does. The store database is the test's
// own, captured by a connector of its own configured as the stack's.
func TestCDCRoundTrip(t *testing.T) {
	st := stacktest.Stack(t)
	db, prefix := stacktest.CapturedDatabase(t, "store")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	binder, err := store.Prepare(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer binder.Close()

	topic := "cdctest_" + stacktest.Suffix()
	key := "order-" + stacktest.Suffix()
	newEvent := func(typ string, n int) outbox.Event {
		e, err := outbox.New(topic, key, typ, map[string]any{"n": n, "note": "été"})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	committed, rolledBack, last := newEvent("First", 1), newEvent("Lost", 2), newEvent("Last", 3)
	errAbort := errors.New("abort")
	for _, step := range []struct {
		event outbox.Event
		err   error
	}{{committed, nil}, {rolledBack, errAbort}, {last, nil}} {
		err := binder.Exec(ctx, func(store.Queries) ([]outbox.Event, error) {
			return []outbox.Event{step.event}, step.err
		})
		if !errors.Is(err, step.err) {
			t.Fatalf("exec %s: %v", step.event.Type, err)
		}
	}

	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":                  st.KafkaBrokers,
		"group.id":                           "cdctest-" + stacktest.Suffix(),
		"auto.offset.reset":                  "earliest",
		"topic.metadata.refresh.interval.ms": 250,
		"enable.auto.commit":                 false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(prefix+topic, nil); err != nil {
		t.Fatal(err)
	}

	var got []*kafka.Message
	for len(got) == 0 || string(got[len(got)-1].Key) != key || header(got[len(got)-1], "id") != last.ID {
		if ctx.Err() != nil {
			t.Fatalf("no message for the last event on %s within the deadline; got %d messages", topic, len(got))
		}
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			continue // timeouts, and the topic not existing yet
		}
		got = append(got, m)
	}

	if len(got) != 2 {
		t.Fatalf("got %d messages, want 2 (the rolled-back event must not appear)", len(got))
	}
	for i, want := range []outbox.Event{committed, last} {
		m := got[i]
		if string(m.Key) != key {
			t.Errorf("message %d key = %q, want %q", i, m.Key, key)
		}
		if h := header(m, "eventType"); h != want.Type {
			t.Errorf("message %d eventType header = %q, want %q", i, h, want.Type)
		}
		if h := header(m, "id"); h != want.ID {
			t.Errorf("message %d id header = %q, want %q", i, h, want.ID)
		}
		var gotPayload, wantPayload map[string]any
		if err := json.Unmarshal(m.Value, &gotPayload); err != nil {
			t.Fatalf("message %d value is not a JSON object: %v (%s)", i, err, m.Value)
		}
		_ = json.Unmarshal(want.Payload, &wantPayload)
		if gb, _ := json.Marshal(gotPayload); string(gb) != string(mustJSON(wantPayload)) {
			t.Errorf("message %d payload = %s, want %s", i, gb, want.Payload)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
