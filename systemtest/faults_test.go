package systemtest

import (
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// findMessage reads topic (in the stack's namespace) from the start until a
// message with key and event type shows up.
func findMessage(t *testing.T, topic, key, eventType string) *kafka.Message {
	t.Helper()
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": config.Load().KafkaBrokers, "group.id": "e2e-" + stacktest.Suffix(),
		"auto.offset.reset": "earliest", "enable.auto.commit": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(config.Load().Topic(topic), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		m, err := c.ReadMessage(200 * time.Millisecond)
		if err != nil {
			continue
		}
		if string(m.Key) != key {
			continue
		}
		for _, h := range m.Headers {
			if h.Key == "eventType" && string(h.Value) == eventType {
				return m
			}
		}
	}
	t.Fatalf("no %s for key %s on %s", eventType, key, topic)
	return nil
}

// committedPast waits until group has committed past offset on the partition.
func committedPast(t *testing.T, group string, tp kafka.TopicPartition) {
	t.Helper()
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": config.Load().KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	c := systemkit.Ctx(t)
	stacktest.Eventually(t, 30*time.Second, group+" committed past the duplicate", func() bool {
		res, err := admin.ListConsumerGroupOffsets(c, []kafka.ConsumerGroupTopicPartitions{{
			Group: group, Partitions: []kafka.TopicPartition{{Topic: tp.Topic, Partition: tp.Partition}},
		}})
		if err != nil || len(res.ConsumerGroupsTopicPartitions) == 0 {
			return false
		}
		parts := res.ConsumerGroupsTopicPartitions[0].Partitions
		return len(parts) == 1 && parts[0].Offset > tp.Offset
	})
}

// redeliver produces m again (same key, headers and event id) on its topic
// and partition, and returns where it landed.
func redeliver(t *testing.T, m *kafka.Message) kafka.TopicPartition {
	t.Helper()
	p, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": config.Load().KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	done := make(chan kafka.Event, 1)
	err = p.Produce(&kafka.Message{
		TopicPartition: m.TopicPartition,
		Key:            m.Key, Value: m.Value, Headers: m.Headers,
	}, done)
	if err != nil {
		t.Fatal(err)
	}
	ev := (<-done).(*kafka.Message)
	if ev.TopicPartition.Error != nil {
		t.Fatal(ev.TopicPartition.Error)
	}
	return ev.TopicPartition
}

// The same event delivered twice has a single effect, for the store's and
// the payments' handlers.
func TestDuplicateEventsHaveOneEffect(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "2.00", 20)
	id := s.Order(t, user, product, 3)
	before := s.Settle(t, 20*time.Second, id)[id]
	s.StockSettles(t, product, 17)
	key := strconv.FormatInt(id, 10)

	created := findMessage(t, events.TopicOrders, key, events.OrderCreated)
	committedPast(t, config.Load().Group(store.SagaConsumer), redeliver(t, created))
	decreased := findMessage(t, events.TopicOrders, key, events.StockDecreased)
	committedPast(t, config.Load().Group(payments.SagaConsumer), redeliver(t, decreased))
	paymentCreated := findMessage(t, events.TopicPayments, key, events.PaymentCreated)
	committedPast(t, config.Load().Group(store.SagaConsumer), redeliver(t, paymentCreated))

	after, _ := s.GetOrder(t, id)
	if !slices.Equal(after.Steps, before.Steps) || after.PaymentID != before.PaymentID {
		t.Fatalf("after duplicates: steps %v payment %d; before: %v payment %d", after.Steps, after.PaymentID, before.Steps, before.PaymentID)
	}
	if got := s.Stock(t, product); got != 17 {
		t.Fatalf("stock after duplicates = %d, want 17", got)
	}
}

// pidOf reads a running service's pid from the stack's state folder.
// ordersOf lists a user's orders from the store database.
func ordersOf(t *testing.T, user int64) []int64 {
	t.Helper()
	db := stacktest.Open(t, config.Load().StoreDSN)
	rows, err := db.Query(`SELECT id FROM orders WHERE user_id = ?`, user)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// conserved checks initial = current + units of live (not cancelled) orders.
func conserved(t *testing.T, s systemkit.System, product, initial int64, orders map[int64]systemkit.Order) {
	t.Helper()
	live := int64(0)
	for id, o := range orders {
		switch o.Status {
		case "Completed":
			live++
		case "Cancelled":
		default:
			t.Errorf("order %d ended %s", id, o.Status)
		}
	}
	s.StockSettles(t, product, initial-live)
}

// With the Connect worker gone, nothing relays; the supervisor notices (no
// status, late canaries) and restarts the worker through the stack, and
// every order completes without a person.
func TestStoppedRelayComesBackByItself(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "1.00", 100)
	t.Cleanup(func() { systemkit.Stack(t, "start") })
	systemkit.Stack(t, "stop", "connect")
	var ids []int64
	for i := 0; i < 10; i++ {
		if id := s.Order(t, user, product, 1); id != 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) != 10 {
		t.Fatalf("%d of 10 orders accepted while Kafka Connect was down", len(ids))
	}
	settled := s.Settle(t, 90*time.Second, ids...)
	conserved(t, s, product, 100, settled)
	for id, o := range settled {
		if o.Status != "Completed" {
			t.Errorf("order %d ended %s", id, o.Status)
		}
	}
}

// With the Connect worker down while the binary logs it was to read are
// purged, the connectors cannot resume where they stopped: the supervisor
// resets their offsets, Debezium reads the outbox tables again (every row
// still there is relayed once more; consumers drop what they have seen),
// and every order placed meanwhile completes without a person.
func TestRelayRecoversPastPurgedBinlog(t *testing.T) {
	s := systemkit.New(t)
	user := s.User(t)
	products, ids := s.Products(t, 2, 100)
	t.Cleanup(func() { systemkit.Stack(t, "start"); systemkit.Stack(t, "supervisor") })
	systemkit.Stack(t, "stop", "supervisor") // so that it does not bring the worker back before the purge
	systemkit.Stack(t, "stop", "connect")
	cs := &chaosStream{}
	for i := range 10 {
		if id := s.Order(t, user, ids[i%len(ids)], 1); id != 0 {
			cs.accepted = append(cs.accepted, id)
		}
	}
	purgeBinaryLogs(t)
	systemkit.Stack(t, "start")
	systemkit.Stack(t, "supervisor")
	// Every row of the outbox is relayed again before the orders' own events: the
	// wait grows with the outbox (72 hours of events are kept).
	invariants(t, s, 3*time.Minute, user, products, cs)
	for id, o := range s.Settle(t, time.Second, cs.accepted...) {
		if o.Status != "Completed" {
			t.Errorf("order %d ended %s", id, o.Status)
		}
	}
	if n := metricLines(t, "http://"+systemkit.Instance().SupervisorAddr(),
		`connect_supervisor_actions_total{action="reset-offsets",connector="`+config.Load().Connector(connectors.StoreOutbox)+`"}`); n == 0 {
		t.Error("the supervisor did not reset the store connector's offsets: the binlog purge did not happen as the test meant")
	}
}

// purgeBinaryLogs starts a new binary log and purges every older one. The
// server keeps a log until its transactions are checkpointed, so it tries again.
func purgeBinaryLogs(t *testing.T) {
	t.Helper()
	admin := stacktest.Open(t, config.Load().AdminDSN)
	if _, err := admin.Exec("FLUSH BINARY LOGS"); err != nil {
		t.Fatal(err)
	}
	var current string
	var pos int64
	var rest [2]sql.NullString
	if err := admin.QueryRow("SHOW MASTER STATUS").Scan(&current, &pos, &rest[0], &rest[1]); err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 30*time.Second, "binary logs before "+current+" purged", func() bool {
		if _, err := admin.Exec("PURGE BINARY LOGS TO '" + current + "'"); err != nil {
			t.Fatal(err)
		}
		var logs int
		rows, err := admin.Query("SHOW BINARY LOGS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			logs++
		}
		return logs == 1
	})
}

// An event that cannot be handled goes to the dead-letter topic with its
// error, and its order is flagged NeedsAttention instead of being dropped.
// poison puts an OrderCreated event for order id that no handler can
// decode on the orders topic, and returns its id.
func poison(t *testing.T, id int64) string {
	t.Helper()
	eventID := "00000000-0000-7000-8000-" + stacktest.Suffix()
	topic := config.Load().Topic(events.TopicOrders)
	redeliver(t, &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &topic, Partition: kafka.PartitionAny},
		Key:            []byte(strconv.FormatInt(id, 10)),
		Value:          []byte(`{"order": "not an order"`),
		Headers:        []kafka.Header{{Key: "id", Value: []byte(eventID)}, {Key: "eventType", Value: []byte(events.OrderCreated)}},
	})
	return eventID
}

func TestPoisonEventIsDeadLettered(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "1.00", 5)
	id := s.Order(t, user, product, 1)
	s.Settle(t, 20*time.Second, id)
	eventID := poison(t, id)

	stacktest.Eventually(t, 30*time.Second, "order flagged", func() bool {
		o, _ := s.GetOrder(t, id)
		return o.Status == "NeedsAttention" && strings.Contains(o.FailureReason, eventID) &&
			slices.Contains(o.Steps, events.OrderCreationFailed) && slices.Contains(o.Steps, events.SagaCompleted)
	})
	dead := findMessage(t, consumer.DeadLetterTopic(events.TopicOrders), strconv.FormatInt(id, 10), events.OrderCreated)
	var cause string
	for _, h := range dead.Headers {
		if h.Key == "error" {
			cause = string(h.Value)
		}
	}
	if !strings.Contains(cause, "decode") {
		t.Fatalf("dead letter error header = %q", cause)
	}
}

// SIGTERM stops store-manager gracefully: it finishes what it was doing and
// exits cleanly; once restarted, no order is lost.
func TestGracefulShutdown(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "1.00", 1000)
	t.Cleanup(func() { systemkit.Stack(t, "app", "store-manager") })
	orders := startChaosStream(s, user, []int64{product})
	orders.waitAccepted(t, 20) // requests and sagas are in flight
	pid := systemkit.PidOf(t, "store-manager")
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 20*time.Second, "store-manager exits", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
	logFile := filepath.Join(systemkit.StateDir(), "logs", systemkit.Instance().Process("store-manager")+".log")
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(string(raw), "shutting down")
	if i < 0 {
		t.Fatal("store-manager logged no graceful shutdown")
	}
	if tail := string(raw[i:]); strings.Contains(tail, `"level":"ERROR"`) {
		t.Fatalf("store-manager did not stop cleanly:\n%s", tail)
	}
	systemkit.Stack(t, "app", "store-manager")
	orders.end()
	conserved(t, s, product, 1000, s.Settle(t, 90*time.Second, ordersOf(t, user)...))
}

// Starting the stack after Redis crashed never reads the dead Redis's pid
// file as the new one's: the start succeeds and the file names the new,
// live process.
func TestStackStartsRedisOverAStalePidFile(t *testing.T) {
	systemkit.New(t)
	old := systemkit.PidOf(t, "redis")
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 10*time.Second, "redis gone", func() bool { return syscall.Kill(old, 0) != nil })
	systemkit.Stack(t, "start") // fails the test when the script says redis exited while starting
	if pid := systemkit.PidOf(t, "redis"); pid == old || syscall.Kill(pid, 0) != nil {
		t.Fatalf("the pid file names %d after the restart (the old one was %d)", pid, old)
	}
}
