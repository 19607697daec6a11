package connectors

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/google/uuid"
)

// CanaryType is the event type of canary rows; their aggregate type, which
// routes them, is the canary topic's bare name.
const (
	CanaryType  = "Canary"
	CanaryTopic = "canary"
)

// Canary judges the relay by what it relays: it writes a canary row into
// each connector's outbox every interval, and watches the canary topic for
// them. A connector whose canaries stop arriving is stalled, whatever its
// status says.
type Canary struct {
	Brokers  string
	Topic    string             // the canary topic as the broker names it (in the namespace)
	Group    string             // the consumer group that watches it
	Outboxes map[string]*sql.DB // connector name -> the database whose outbox it relays
	Log      *slog.Logger

	mu      sync.Mutex
	seen    map[string]time.Time
	started time.Time
}

// Age is the time since the newest canary of connector reached Kafka (since
// the canary started, before the first).
func (c *Canary) Age(connector string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.seen[connector]
	if !ok {
		at = c.started
	}
	return time.Since(at)
}

// Run writes and watches canaries until ctx ends.
func (c *Canary) Run(ctx context.Context, interval time.Duration) error {
	c.mu.Lock()
	c.seen, c.started = map[string]time.Time{}, time.Now()
	c.mu.Unlock()
	consumer, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": c.Brokers, "group.id": c.Group, "auto.offset.reset": "latest",
		"enable.auto.commit": true, "topic.metadata.refresh.interval.ms": 1000, "go.logs.channel.enable": false,
	})
	if err != nil {
		return fmt.Errorf("canary consumer: %w", err)
	}
	defer consumer.Close()
	if err := consumer.Subscribe(c.Topic, nil); err != nil {
		return fmt.Errorf("subscribe %s: %w", c.Topic, err)
	}
	go c.write(ctx, interval)
	for ctx.Err() == nil {
		m, err := consumer.ReadMessage(200 * time.Millisecond)
		if err != nil {
			continue // timeouts, the broker away, the topic not there yet
		}
		c.mu.Lock()
		c.seen[string(m.Key)] = time.Now()
		c.mu.Unlock()
	}
	return nil
}

// write puts a canary row into every outbox, every interval.
func (c *Canary) write(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for connector, db := range c.Outboxes {
			payload, _ := json.Marshal(map[string]any{"connector": connector, "at": time.Now().UTC()})
			_, err := db.ExecContext(ctx, `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, ?, ?)`,
				uuid.NewString(), CanaryTopic, connector, CanaryType, payload)
			if err != nil && ctx.Err() == nil {
				c.Log.Warn("canary write", "connector", connector, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
