// Package kafkainspect reads Kafka for operators without joining a consumer
// group: a group's lag per partition, a topic's size, and the dead letters,
// which it can replay to their topic; and each node's health, from its
// metrics page.
package kafkainspect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/store-manager/store-manager/operations/promscrape"
)

// Lag is how far a consumer group is behind on one partition.
type Lag struct {
	Group     string `json:"group"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed"` // -1: nothing committed yet
	High      int64  `json:"high"`
	Behind    int64  `json:"behind"`
}

// inspector reads topics' offsets and messages for operators, without
// joining any group.
type inspector struct {
	c *kafka.Consumer
}

func newInspector(brokers, group string) (*inspector, error) {
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": false,
		"go.logs.channel.enable": false,
	})
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	return &inspector{c: c}, nil
}

func (in *inspector) close() { in.c.Close() }

// partitions lists a topic's partitions; a topic that does not exist has none.
func (in *inspector) partitions(topic string) ([]int32, error) {
	md, err := in.c.GetMetadata(&topic, false, 5000)
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	t, ok := md.Topics[topic]
	if !ok || t.Error.Code() == kafka.ErrUnknownTopicOrPart {
		return nil, nil
	}
	out := make([]int32, len(t.Partitions))
	for i, p := range t.Partitions {
		out[i] = p.ID
	}
	return out, nil
}

// GroupLags is how far group is behind on each partition of topics.
func GroupLags(brokers, group string, topics []string) ([]Lag, error) {
	in, err := newInspector(brokers, group)
	if err != nil {
		return nil, err
	}
	defer in.close()
	var out []Lag
	for _, topic := range topics {
		parts, err := in.partitions(topic)
		if err != nil {
			return nil, err
		}
		tps := make([]kafka.TopicPartition, len(parts))
		for i, p := range parts {
			tps[i] = kafka.TopicPartition{Topic: &topic, Partition: p}
		}
		committed, err := in.c.Committed(tps, 5000)
		if err != nil {
			return nil, fmt.Errorf("committed offsets of %s on %s: %w", group, topic, err)
		}
		for _, tp := range committed {
			_, high, err := in.c.QueryWatermarkOffsets(topic, tp.Partition, 5000)
			if err != nil {
				return nil, fmt.Errorf("watermarks of %s/%d: %w", topic, tp.Partition, err)
			}
			l := Lag{Group: group, Topic: topic, Partition: tp.Partition, Committed: int64(tp.Offset), High: high, Behind: high}
			if tp.Offset >= 0 {
				l.Behind = max(high-int64(tp.Offset), 0)
			} else {
				l.Committed = -1
			}
			out = append(out, l)
		}
	}
	return out, nil
}

// TopicSize is how many messages topic holds now, over its partitions.
func TopicSize(brokers, topic string) (int64, error) {
	in, err := newInspector(brokers, "inspect")
	if err != nil {
		return 0, err
	}
	defer in.close()
	parts, err := in.partitions(topic)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, p := range parts {
		low, high, err := in.c.QueryWatermarkOffsets(topic, p, 5000)
		if err != nil {
			return 0, fmt.Errorf("watermarks of %s/%d: %w", topic, p, err)
		}
		n += high - low
	}
	return n, nil
}

// DeadLetter is one message of a dead-letter topic, with the error its
// handler gave up on.
type DeadLetter struct {
	Topic     string         `json:"topic"` // the dead-letter topic
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Key       string         `json:"key"`
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	Error     string         `json:"error"`
	At        time.Time      `json:"at"`
	Value     []byte         `json:"value"`
	headers   []kafka.Header // as dead-lettered, for a replay
}

// FindDeadLetter picks the dead letter at partition and offset among letters.
func FindDeadLetter(letters []DeadLetter, partition int32, offset int64) (DeadLetter, bool) {
	for _, d := range letters {
		if d.Partition == partition && d.Offset == offset {
			return d, true
		}
	}
	return DeadLetter{}, false
}

// ReadDeadLetters reads every message of a dead-letter topic, oldest first
// on each partition, up to what the topic holds now.
func ReadDeadLetters(ctx context.Context, brokers, topic string) ([]DeadLetter, error) {
	in, err := newInspector(brokers, "inspect-dlq")
	if err != nil {
		return nil, err
	}
	defer in.close()
	parts, err := in.partitions(topic)
	if err != nil {
		return nil, err
	}
	var out []DeadLetter
	for _, p := range parts {
		low, high, err := in.c.QueryWatermarkOffsets(topic, p, 5000)
		if err != nil {
			return nil, fmt.Errorf("watermarks of %s/%d: %w", topic, p, err)
		}
		if high <= low {
			continue
		}
		if err := in.c.Assign([]kafka.TopicPartition{{Topic: &topic, Partition: p, Offset: kafka.Offset(low)}}); err != nil {
			return nil, err
		}
		for next := low; next < high; {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			m, err := in.c.ReadMessage(time.Second)
			var ke kafka.Error
			if errors.As(err, &ke) && ke.IsTimeout() {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read %s/%d: %w", topic, p, err)
			}
			next = int64(m.TopicPartition.Offset) + 1
			d := DeadLetter{Topic: topic, Partition: p, Offset: int64(m.TopicPartition.Offset), Key: string(m.Key),
				At: m.Timestamp, Value: m.Value, headers: m.Headers}
			for _, h := range m.Headers {
				switch h.Key {
				case "id":
					d.ID = string(h.Value)
				case "eventType":
					d.Type = string(h.Value)
				case "error":
					d.Error = string(h.Value)
				}
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// Replay puts a dead letter back on topic, its original, with its key,
// value and headers but the error, and waits until the broker has it. The
// event keeps its id, so handlers that applied it already skip it.
func Replay(ctx context.Context, brokers string, d DeadLetter, topic string) error {
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": true})
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	defer p.Close()
	var headers []kafka.Header
	for _, h := range d.headers {
		if h.Key != "error" {
			headers = append(headers, h)
		}
	}
	delivered := make(chan kafka.Event, 1)
	err = p.Produce(&kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(d.Key), Value: d.Value, Headers: headers,
	}, delivered)
	if err != nil {
		return fmt.Errorf("replay to %s: %w", topic, err)
	}
	select {
	case ev := <-delivered:
		if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
			return fmt.Errorf("replay to %s: %w", topic, m.TopicPartition.Error)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Node is what one Kafka node's metrics page says of it: whether it
// answers, whether it is the KRaft quorum's active controller, how many
// partitions it leads, how many of those lack an in-sync copy, and (from
// the active controller) how many partitions have no leader at all.
type Node struct {
	Name            string  `json:"name"`
	Up              bool    `json:"up"`
	Controller      bool    `json:"active_controller"`
	Leads           float64 `json:"partitions_led"`
	UnderReplicated float64 `json:"under_replicated"`
	Offline         float64 `json:"offline"`
}

// Nodes reads the metrics page of each node (names[i] at urls[i]).
func Nodes(ctx context.Context, names, urls []string) []Node {
	out := make([]Node, len(names))
	for i, url := range urls {
		page := promscrape.Read(ctx, url)
		leads, up := page.Gauge("kafka_server_replicamanager_leadercount", "")[""]
		out[i] = Node{
			Name: names[i], Up: up, Leads: leads,
			Controller:      page.Gauge("kafka_controller_activecontrollercount", "")[""] == 1,
			UnderReplicated: page.Gauge("kafka_server_replicamanager_underreplicatedpartitions", "")[""],
			Offline:         page.Gauge("kafka_controller_offlinepartitionscount", "")[""],
		}
	}
	return out
}

// Problems says what is wrong with a cluster of nodes: a node that does not
// answer, no active controller or more than one, partitions short of an
// in-sync copy, partitions without a leader.
func Problems(nodes []Node) []string {
	var out []string
	controllers := 0
	var lagging, offline float64
	for _, n := range nodes {
		if !n.Up {
			out = append(out, fmt.Sprintf("Kafka node %s is down (or its metrics do not answer)", n.Name))
		}
		if n.Controller {
			controllers++
		}
		lagging += n.UnderReplicated
		offline = max(offline, n.Offline)
	}
	if len(nodes) > 0 && controllers != 1 {
		out = append(out, fmt.Sprintf("%d active KRaft controllers, not one", controllers))
	}
	if lagging > 0 {
		out = append(out, fmt.Sprintf("%.0f partitions lack an in-sync copy", lagging))
	}
	if offline > 0 {
		out = append(out, fmt.Sprintf("%.0f partitions have no leader", offline))
	}
	return out
}
