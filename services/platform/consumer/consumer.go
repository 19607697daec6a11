// Package consumer runs Kafka consumers for the outbox events that Debezium
// publishes: a Registry maps event types to handlers, and a Runner polls,
// dispatches, retries with backoff, dead-letters what keeps failing, and
// commits a message's offset only once its handler has returned.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.opentelemetry.io/otel/trace"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// Message is one event as a handler sees it.
type Message struct {
	ID        string // the outbox row id, also the event id
	Type      string
	Key       string // the aggregate id
	Topic     string
	Partition int32
	Offset    int64
	Payload   json.RawMessage
	Time      time.Time // when the event was written (its record's timestamp), zero when unknown
}

// Handler applies one event. An error marked with Permanent is not retried.
type Handler func(ctx context.Context, m Message) error

// Permanent marks err as one that retrying cannot fix (a malformed payload).
func Permanent(err error) error { return backoff.Permanent(err) }

// Registry maps event types, and optionally whole topics, to handlers.
// Registering a handler never changes the existing ones.
type Registry struct {
	byType  map[string]Handler
	byTopic map[string]Handler
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byType: map[string]Handler{}, byTopic: map[string]Handler{}}
}

// Handle registers h for events of one type, with their JSON payload
// decoded into a T: a payload that does not decode is a permanent failure,
// as retrying cannot fix it. It panics on a second handler for the same
// type: that is a wiring mistake.
func Handle[T any](r *Registry, eventType string, h func(ctx context.Context, m Message, payload T) error) {
	if _, dup := r.byType[eventType]; dup {
		panic("consumer: second handler for event type " + eventType)
	}
	r.byType[eventType] = decoding(h)
}

// HandleTopic registers h, with payloads decoded as Handle does, for every
// event on topic that has no handler of its own type.
func HandleTopic[T any](r *Registry, topic string, h func(ctx context.Context, m Message, payload T) error) {
	if _, dup := r.byTopic[topic]; dup {
		panic("consumer: second handler for topic " + topic)
	}
	r.byTopic[topic] = decoding(h)
}

// decoding adapts a typed handler: it decodes the payload, then calls h.
func decoding[T any](h func(ctx context.Context, m Message, payload T) error) Handler {
	return func(ctx context.Context, m Message) error {
		var payload T
		if err := json.Unmarshal(m.Payload, &payload); err != nil {
			return Permanent(fmt.Errorf("decode %s %s: %w", m.Type, m.ID, err))
		}
		return h(ctx, m, payload)
	}
}

// Lookup returns the handler for m, if any.
func (r *Registry) Lookup(m Message) (Handler, bool) {
	if h, ok := r.byType[m.Type]; ok {
		return h, true
	}
	h, ok := r.byTopic[m.Topic]
	return h, ok
}

// DeadLetterTopic is where the messages of topic go when their handler keeps failing.
func DeadLetterTopic(topic string) string { return topic + ".dlq" }

// Config sets up a Runner.
type Config struct {
	Brokers string
	GroupID string
	Topics  []string
	// TopicPrefix is put before every topic name on the broker, so several
	// instances of the system can share one; handlers see the bare names.
	TopicPrefix string
	// MaxAttempts is how often a handler is tried before its message is
	// dead-lettered (default 8).
	MaxAttempts uint
	// OnDeadLetter, when set, runs after a message went to the dead-letter
	// topic, so the service can flag what the message was about.
	OnDeadLetter func(ctx context.Context, m Message, cause error) error
	// Batch, when set, runs the handlers of the messages waiting in one
	// partition's lane (up to MaxBatch) as one unit: all of their effects or
	// none (txn.DB.Batch: one transaction, one commit). When it fails, each
	// message is handled again on its own, with retries and dead letters, so
	// one failing event never undoes the others. Offsets are stored after it.
	Batch func(ctx context.Context, handle func(ctx context.Context) error) error
	// MaxBatch bounds a batch (default 32).
	MaxBatch int
}

// Runner consumes Config.Topics in one consumer group.
type Runner struct {
	cfg      Config
	registry *Registry
	log      *slog.Logger
	consumer *kafka.Consumer
	producer *kafka.Producer
}

// New connects a Runner; Run starts consuming.
func New(cfg Config, registry *Registry, log *slog.Logger) (*Runner, error) {
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 32
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers":                  cfg.Brokers,
		"group.id":                           cfg.GroupID,
		"auto.offset.reset":                  "earliest",
		"enable.auto.commit":                 true,
		"enable.auto.offset.store":           false, // an offset is stored only after its handler returned
		"auto.commit.interval.ms":            200,
		"topic.metadata.refresh.interval.ms": 1000,
		// The broker answers a fetch as soon as a message is there; the wait only
		// bounds how long an empty fetch is held, so a longer one saves idle fetches.
		"fetch.wait.max.ms": 500,
		// Bound librdkafka's prefetch memory: a batch is at most MaxBatch
		// messages of a few kilobytes, and a lagging consumer holds this much.
		"queued.max.messages.kbytes": 1024,
		"queued.min.messages":        100,
		"session.timeout.ms":         10000,
		"heartbeat.interval.ms":      1000,
		"go.logs.channel.enable":     false,
	})
	if err != nil {
		return nil, fmt.Errorf("new consumer %s: %w", cfg.GroupID, err)
	}
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers": cfg.Brokers, "linger.ms": 0, "acks": "all", "enable.idempotence": true, "queue.buffering.max.kbytes": 1024,
		// The Go client's channels default to a million entries (16 MB each); dead letters are rare.
		"go.events.channel.size": 1000, "go.produce.channel.size": 1000,
	})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("new dead-letter producer: %w", err)
	}
	return &Runner{cfg: cfg, registry: registry, log: log.With("group", cfg.GroupID), consumer: c, producer: p}, nil
}

// Run consumes until ctx ends, then commits the offsets of what it handled
// and closes. Topics that do not exist yet are picked up once they do.
//
// Each partition has its own worker, so partitions are handled in parallel
// while the messages of one partition (one aggregate's events, as they share
// a key) are handled in order.
func (r *Runner) Run(ctx context.Context) error {
	defer r.close()
	topics := make([]string, len(r.cfg.Topics))
	for i, t := range r.cfg.Topics {
		topics[i] = r.cfg.TopicPrefix + t
	}
	if err := r.consumer.SubscribeTopics(topics, nil); err != nil {
		return fmt.Errorf("subscribe %v: %w", r.cfg.Topics, err)
	}
	go r.drainProducerEvents()
	lagCtx, stopLag := context.WithCancel(ctx)
	var measuring sync.WaitGroup
	measuring.Add(1)
	go func() { defer measuring.Done(); r.measureLag(lagCtx, 5*time.Second) }()
	defer func() { stopLag(); measuring.Wait() }() // before close: the consumer is in use until then
	lanes := map[string]chan *kafka.Message{}
	var workers sync.WaitGroup
	defer func() { // runs before close: every worker is done before the final commit
		for _, lane := range lanes {
			close(lane)
		}
		workers.Wait()
	}()
	for ctx.Err() == nil {
		switch ev := r.consumer.Poll(100).(type) {
		case *kafka.Message:
			key := fmt.Sprintf("%s/%d", *ev.TopicPartition.Topic, ev.TopicPartition.Partition)
			lane, ok := lanes[key]
			if !ok {
				lane = make(chan *kafka.Message, laneSize)
				lanes[key] = lane
				workers.Add(1)
				go func() {
					defer workers.Done()
					for km := range lane {
						if ctx.Err() == nil { // once stopping, what is left is redelivered later
							r.dispatchBatch(ctx, r.gather(km, lane))
						}
					}
				}()
			}
			select {
			case lane <- ev:
			case <-ctx.Done():
			}
		case kafka.Error:
			if ev.IsFatal() {
				return fmt.Errorf("consumer %s: %w", r.cfg.GroupID, ev)
			}
			if ev.Code() != kafka.ErrUnknownTopicOrPart {
				r.log.Warn("kafka", "err", ev)
			}
		}
	}
	return nil
}

// laneSize is how many messages a partition's lane holds before the poll
// loop waits for it. The loop feeds every lane, so while it waits on one,
// the others get nothing: with a short lane, a backlog in one partition
// (librdkafka hands over a fetch's messages partition by partition) made
// the lanes take turns instead of running at once, and the saga's
// throughput fell by a third as soon as a backlog formed. A lane this long
// holds what a partition's backlog comes to under MAX_OPEN_ORDERS.
const laneSize = 1024

// Healthy reports whether the consumer reaches the brokers.
func (r *Runner) Healthy(ctx context.Context) error {
	timeout := 2000
	if d, ok := ctx.Deadline(); ok {
		timeout = int(time.Until(d).Milliseconds())
	}
	_, err := r.consumer.GetMetadata(nil, false, max(timeout, 1))
	return err
}

func (r *Runner) close() {
	if _, err := r.consumer.Commit(); err != nil && !isNoOffset(err) {
		r.log.Warn("final offset commit", "err", err)
	}
	if err := r.consumer.Close(); err != nil {
		r.log.Warn("close consumer", "err", err)
	}
	if left := r.producer.Flush(5000); left > 0 {
		r.log.Error("dead-letter producer closed with undelivered messages", "messages", left)
	}
	r.producer.Close()
}

func isNoOffset(err error) bool {
	var ke kafka.Error
	return errors.As(err, &ke) && ke.Code() == kafka.ErrNoOffset
}

func (r *Runner) drainProducerEvents() {
	for ev := range r.producer.Events() {
		if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
			r.log.Error("dead-letter delivery failed", "err", m.TopicPartition.Error)
		}
	}
}

// decode turns a Kafka message published by the outbox router into a Message.
func (r *Runner) decode(km *kafka.Message) Message {
	m := Message{Key: string(km.Key), Payload: km.Value, Partition: km.TopicPartition.Partition, Offset: int64(km.TopicPartition.Offset)}
	if km.TimestampType != kafka.TimestampNotAvailable {
		m.Time = km.Timestamp
	}
	if km.TopicPartition.Topic != nil {
		m.Topic = strings.TrimPrefix(*km.TopicPartition.Topic, r.cfg.TopicPrefix)
	}
	for _, h := range km.Headers {
		switch h.Key {
		case "id":
			m.ID = string(h.Value)
		case "eventType":
			m.Type = string(h.Value)
		}
	}
	return m
}

// gather returns first with the messages already waiting behind it in its
// lane, up to MaxBatch (without Batch, first alone).
func (r *Runner) gather(first *kafka.Message, lane chan *kafka.Message) []*kafka.Message {
	batch := []*kafka.Message{first}
	for r.cfg.Batch != nil && len(batch) < r.cfg.MaxBatch {
		select {
		case km, ok := <-lane:
			if !ok {
				return batch
			}
			batch = append(batch, km)
		default:
			return batch
		}
	}
	return batch
}

// dispatchBatch handles the messages of one lane together through
// Config.Batch, then stores their offsets. If the batch fails, each message
// is dispatched on its own.
func (r *Runner) dispatchBatch(ctx context.Context, batch []*kafka.Message) {
	if len(batch) == 1 {
		r.dispatch(ctx, batch[0])
		return
	}
	msgs := make([]Message, len(batch))
	for i, km := range batch {
		msgs[i] = r.decode(km)
	}
	var spans []trace.Span // each handler's span, ended once the batch committed or failed
	err := r.cfg.Batch(ctx, func(ctx context.Context) error {
		for _, span := range spans { // a batch run again after a deadlock starts over
			endSpan(span, outcomeRolledBack, nil)
		}
		spans = spans[:0]
		for i, m := range msgs {
			if h, ok := r.registry.Lookup(m); ok {
				mctx, span := r.startSpan(ctx, batch[i], m)
				spans = append(spans, span)
				if err := safely(mctx, h, m); err != nil {
					return err
				}
			}
		}
		return nil
	})
	outcome := outcomeHandled
	if err != nil {
		outcome = outcomeRolledBack
	}
	for _, span := range spans {
		endSpan(span, outcome, err)
	}
	if err != nil {
		batchFallbacks.WithLabelValues(r.cfg.GroupID).Inc()
		r.log.Warn("a batch failed as a whole; handling its messages one by one", "messages", len(batch), "err", err)
		for _, km := range batch {
			if ctx.Err() == nil {
				r.dispatch(ctx, km)
			}
		}
		return
	}
	batchSizes.WithLabelValues(r.cfg.GroupID).Observe(float64(len(batch)))
	for i, km := range batch {
		if !msgs[i].Time.IsZero() {
			eventAge.WithLabelValues(r.cfg.GroupID, msgs[i].Topic, msgs[i].Type).Observe(time.Since(msgs[i].Time).Seconds())
		}
		if _, err := r.consumer.StoreMessage(km); err != nil {
			r.log.Warn("store offset", "topic", msgs[i].Topic, "offset", msgs[i].Offset, "err", err)
		}
	}
}

// dispatch handles one message and stores its offset; only ctx ending stops it.
// A handler that fails is retried with backoff; once it has failed
// MaxAttempts times (a dependency that cannot be reached does not count:
// an outage is waited out, not dead-lettered), or at once for a permanent
// error, the message goes to the dead-letter topic.
func (r *Runner) dispatch(ctx context.Context, km *kafka.Message) {
	m := r.decode(km)
	if h, ok := r.registry.Lookup(m); ok {
		hctx, span := r.startSpan(ctx, km, m)
		err := r.retry(hctx, h, m)
		if err != nil && ctx.Err() == nil {
			deadLetters.WithLabelValues(r.cfg.GroupID, m.Topic).Inc()
			r.deadLetter(hctx, km, m, err)
		}
		switch {
		case ctx.Err() != nil:
			endSpan(span, outcomeStopped, err)
		case err != nil:
			endSpan(span, outcomeDeadLettered, err)
		default:
			endSpan(span, outcomeHandled, nil)
		}
		if ctx.Err() != nil {
			return // shutting down: the offset is not stored, so the message is redelivered
		}
		if err == nil && !m.Time.IsZero() {
			eventAge.WithLabelValues(r.cfg.GroupID, m.Topic, m.Type).Observe(time.Since(m.Time).Seconds())
		}
	}
	if _, err := r.consumer.StoreMessage(km); err != nil {
		r.log.Warn("store offset", "topic", m.Topic, "offset", m.Offset, "err", err)
	}
}

// retry runs h until it succeeds, fails permanently, fails MaxAttempts
// times for reasons other than an unreachable dependency, or ctx ends.
func (r *Runner) retry(ctx context.Context, h Handler, m Message) error {
	b := &backoff.ExponentialBackOff{
		InitialInterval: 20 * time.Millisecond, RandomizationFactor: 0.3, Multiplier: 2, MaxInterval: 2 * time.Second,
	}
	b.Reset()
	failures := uint(0)
	for attempt := 1; ; attempt++ {
		err := safely(ctx, h, m)
		if err == nil {
			return nil
		}
		attemptFailed(ctx, attempt, err)
		var permanent *backoff.PermanentError
		if errors.As(err, &permanent) {
			return permanent.Unwrap()
		}
		if !errs.Unreachable(err) {
			failures++
		}
		if failures >= r.cfg.MaxAttempts {
			return err
		}
		next := b.NextBackOff()
		retries.WithLabelValues(r.cfg.GroupID, m.Topic).Inc()
		trace.SpanFromContext(ctx).SetAttributes(attrRetries.Int(attempt))
		r.log.WarnContext(ctx, "handler failed; retrying", "type", m.Type, "event", m.ID, "attempt", attempt, "in", next, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(next):
		}
	}
}

// safely runs h, turning a panic into an error so the message is retried
// and then dead-lettered instead of crashing the service on every redelivery.
func safely(ctx context.Context, h Handler, m Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return h(ctx, m)
}

// deadLetter puts a message whose handler gave up on its dead-letter topic,
// with the error in a header, and waits until the broker has it: until then
// (retrying with backoff, until ctx ends) the message's offset is not
// stored, so a message is never lost. Then the hook flags what it was about.
func (r *Runner) deadLetter(ctx context.Context, km *kafka.Message, m Message, cause error) {
	r.log.ErrorContext(ctx, "handler gave up; dead-lettering", "type", m.Type, "event", m.ID, "key", m.Key, "err", cause)
	topic := r.cfg.TopicPrefix + DeadLetterTopic(m.Topic)
	headers := append(append([]kafka.Header(nil), km.Headers...), kafka.Header{Key: "error", Value: []byte(cause.Error())})
	retry := func(what string, op func() error) error {
		_, err := backoff.Retry(ctx, func() (struct{}, error) { return struct{}{}, op() },
			backoff.WithBackOff(&backoff.ExponentialBackOff{
				InitialInterval: 100 * time.Millisecond, RandomizationFactor: 0.3, Multiplier: 2, MaxInterval: 5 * time.Second,
			}),
			backoff.WithMaxElapsedTime(0),
			backoff.WithNotify(func(err error, next time.Duration) {
				r.log.ErrorContext(ctx, what+" failed; retrying", "type", m.Type, "event", m.ID, "in", next, "err", err)
			}))
		return err
	}
	err := retry("dead-letter produce", func() error {
		delivered := make(chan kafka.Event, 1)
		err := r.producer.Produce(&kafka.Message{
			TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
			Key:            km.Key, Value: km.Value, Headers: headers,
		}, delivered)
		if err != nil {
			return err
		}
		select {
		case ev := <-delivered:
			if dm, ok := ev.(*kafka.Message); ok && dm.TopicPartition.Error != nil {
				return dm.TopicPartition.Error
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	if err != nil || r.cfg.OnDeadLetter == nil {
		return // only ctx ending stops the retries: the message is redelivered
	}
	if err := retry("dead-letter hook", func() error { return r.cfg.OnDeadLetter(ctx, m, cause) }); err != nil {
		r.log.ErrorContext(ctx, "dead-letter hook", "type", m.Type, "event", m.ID, "err", err)
	}
}

// EnsureTopics creates the topics that do not exist yet, each with partitions
// partitions, and with their dead-letter topics. Consumers then find them at
// once instead of waiting for the first event to create them. Their copies
// and the copies a write needs are the brokers' defaults (one node: one; a
// cluster: three, two in sync), as every other topic's.
func EnsureTopics(ctx context.Context, brokers string, topics []string, partitions int) error {
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		return fmt.Errorf("kafka admin: %w", err)
	}
	defer admin.Close()
	specs := make([]kafka.TopicSpecification, 0, 2*len(topics))
	for _, t := range topics {
		for _, name := range []string{t, DeadLetterTopic(t)} {
			specs = append(specs, kafka.TopicSpecification{Topic: name, NumPartitions: partitions, ReplicationFactor: -1})
		}
	}
	results, err := admin.CreateTopics(ctx, specs)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range results {
		if r.Error.Code() != kafka.ErrNoError && r.Error.Code() != kafka.ErrTopicAlreadyExists {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Error)
		}
	}
	return nil
}
