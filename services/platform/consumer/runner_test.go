package consumer_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// produce publishes one event, with extra headers after its id and type.
func produce(t *testing.T, brokers, topic, id, typ string, extra ...kafka.Header) {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done := make(chan kafka.Event, 1)
	err = p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte("k"), Value: []byte(`{}`),
		Headers: append([]kafka.Header{{Key: "id", Value: []byte(id)}, {Key: "eventType", Value: []byte(typ)}}, extra...),
	}, done)
	if err != nil {
		t.Fatal(err)
	}
	if m := (<-done).(*kafka.Message); m.TopicPartition.Error != nil {
		t.Fatal(m.TopicPartition.Error)
	}
}

// run consumes with reg until stop is called, in group, handling the
// waiting messages through batch when it is set.
func run(t *testing.T, brokers, group, topic string, reg *consumer.Registry, hook func(context.Context, consumer.Message, error) error,
	batch func(context.Context, func(context.Context) error) error) (stop func()) {
	t.Helper()
	r, err := consumer.New(consumer.Config{Brokers: brokers, GroupID: group, Topics: []string{topic}, MaxAttempts: 3, OnDeadLetter: hook, Batch: batch},
		reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// Transient failures are retried; what keeps failing goes to the dead-letter
// topic with its error and the hook runs; offsets of handled messages are
// committed, so a restarted consumer does not handle them again. All of it
// holds one message at a time and in batches: a batch that fails is
// handled again message by message.
func TestRunnerRetriesDeadLettersAndCommits(t *testing.T) {
	stacktest.Stack(t) // skips the whole test, its final check included, where no stack runs
	var batches atomic.Int32
	for name, batch := range map[string]func(context.Context, func(context.Context) error) error{
		"one at a time": nil,
		"batches": func(ctx context.Context, handle func(context.Context) error) error {
			batches.Add(1)
			return handle(ctx)
		},
	} {
		t.Run(name, func(t *testing.T) { runnerSuite(t, batch) })
	}
	if batches.Load() == 0 {
		t.Error("no batch was run: the messages waiting were handled one by one")
	}
}

func runnerSuite(t *testing.T, batch func(context.Context, func(context.Context) error) error) {
	st := stacktest.Stack(t)
	topic := "runnertest_" + stacktest.Suffix()
	group := "runnertest-" + stacktest.Suffix()
	if err := consumer.EnsureTopics(context.Background(), st.KafkaBrokers, []string{topic}, 1); err != nil {
		t.Fatal(err)
	}

	var flaky, handled atomic.Int32
	var mu sync.Mutex
	var deadLettered []string
	reg := consumer.NewRegistry()
	consumer.Handle(reg, "Flaky", func(_ context.Context, m consumer.Message, _ json.RawMessage) error {
		if flaky.Add(1) < 3 {
			return errors.New("transient")
		}
		handled.Add(1)
		return nil
	})
	consumer.Handle(reg, "Broken", func(context.Context, consumer.Message, json.RawMessage) error { return errors.New("always broken") })
	consumer.Handle(reg, "Fine", func(context.Context, consumer.Message, json.RawMessage) error { handled.Add(1); return nil })
	hook := func(_ context.Context, m consumer.Message, cause error) error {
		mu.Lock()
		defer mu.Unlock()
		deadLettered = append(deadLettered, m.ID+": "+cause.Error())
		return nil
	}

	produce(t, st.KafkaBrokers, topic, "e1", "Flaky")
	produce(t, st.KafkaBrokers, topic, "e2", "Broken")
	produce(t, st.KafkaBrokers, topic, "e3", "Fine")
	stop := run(t, st.KafkaBrokers, group, topic, reg, hook, batch)
	stacktest.Eventually(t, 30*time.Second, "three events handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return handled.Load() == 2 && len(deadLettered) == 1
	})
	stop()
	if flaky.Load() != 3 {
		t.Errorf("the flaky handler ran %d times, want 3", flaky.Load())
	}
	if deadLettered[0] != "e2: always broken" {
		t.Errorf("dead-lettered %v", deadLettered)
	}

	// The dead-letter topic holds the message with its error.
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": st.KafkaBrokers, "group.id": group + "-dlq", "auto.offset.reset": "earliest"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.Subscribe(consumer.DeadLetterTopic(topic), nil)
	var cause string
	stacktest.Eventually(t, 30*time.Second, "dead letter on "+consumer.DeadLetterTopic(topic), func() bool {
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			return false
		}
		for _, h := range m.Headers {
			if h.Key == "error" {
				cause = string(h.Value)
			}
		}
		return true
	})
	if cause != "always broken" {
		t.Errorf("dead letter error header = %q", cause)
	}

	// Restarted in the same group, the consumer starts after what it handled.
	produce(t, st.KafkaBrokers, topic, "e4", "Fine")
	stop = run(t, st.KafkaBrokers, group, topic, reg, hook, batch)
	stacktest.Eventually(t, 30*time.Second, "the new event handled", func() bool { return handled.Load() == 3 })
	time.Sleep(500 * time.Millisecond)
	stop()
	if handled.Load() != 3 || flaky.Load() != 3 {
		t.Fatalf("after a restart: handled %d, flaky ran %d: old messages came again", handled.Load(), flaky.Load())
	}
}
