package systemtest

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/operations/kafkainspect"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// The tests of this file kill members of a replicated cluster: they need the
// instance under test to run three Kafka nodes and two Connect workers.
// make test runs them on an instance of their own (make test-cluster).
func clusterUnderTest(t *testing.T) config.Cluster {
	t.Helper()
	c, err := systemkit.Instance().Cluster()
	if err != nil {
		t.Fatal(err)
	}
	if c.KafkaNodes < 3 || c.ConnectWorkers < 2 {
		t.Skipf("the instance under test runs %d Kafka node(s) and %d Connect worker(s): make test-cluster runs this on three and two",
			c.KafkaNodes, c.ConnectWorkers)
	}
	return c
}

// kafkaNodes reads every node's metrics.
func kafkaNodes() []kafkainspect.Node {
	names, pages := systemkit.Instance().KafkaNodes()
	return kafkainspect.Nodes(context.Background(), names, pages)
}

// clusterWhole waits until every node runs, one is the active controller and
// every partition has all its copies in sync.
func clusterWhole(t *testing.T, c config.Cluster) {
	t.Helper()
	stacktest.Eventually(t, 90*time.Second, "every Kafka node up and in sync, one controller", func() bool {
		return len(kafkainspect.Problems(kafkaNodes())) == 0
	})
}

// restoreCluster starts what a test killed and waits until the cluster is whole again.
func restoreCluster(t *testing.T, c config.Cluster) {
	systemkit.Stack(t, "start")
	clusterWhole(t, c)
}

// clusterRun is a test's stream of orders on a whole cluster: its user, its
// products with their initial stock, and the stream, 40 orders in.
type clusterRun struct {
	s        systemkit.System
	user     int64
	products map[int64]int64
	cs       *chaosStream
}

// streamOnCluster waits until the cluster is whole, has it restored when the
// test ends, and starts a steady stream of 20 orders a second.
func streamOnCluster(t *testing.T, c config.Cluster) clusterRun {
	t.Helper()
	clusterWhole(t, c)
	t.Cleanup(func() { restoreCluster(t, c) })
	r := clusterRun{s: systemkit.New(t)}
	r.user = r.s.User(t)
	var ids []int64
	r.products, ids = r.s.Products(t, 3, 1000)
	r.cs = startStream(r.s, r.user, ids, 50*time.Millisecond)
	t.Cleanup(r.cs.end)
	r.cs.waitAccepted(t, 40)
	return r
}

// holds ends the stream and checks the chaos suite's invariants and that
// every event the outboxes committed for its orders is on its topic.
func (r clusterRun) holds(t *testing.T) {
	t.Helper()
	r.cs.end()
	invariants(t, r.s, 60*time.Second, r.user, r.products, r.cs)
	everyEventOnItsTopic(t, r.cs.accepted)
}

// A Kafka node SIGKILLed in the middle of a steady stream of orders and not
// restarted, once a node that leads partitions and once the active
// controller: orders keep completing, no saga takes more than 20 s from
// its order to its end, the chaos suite's invariants hold, and every event
// the outboxes committed is on its topic.
func TestClusterSurvivesAKafkaNodeKilled(t *testing.T) {
	c := clusterUnderTest(t)
	for _, victim := range []string{"a node that leads partitions", "the active controller"} {
		t.Run(victim, func(t *testing.T) {
			r := streamOnCluster(t, c)
			var kill kafkainspect.Node
			for _, n := range kafkaNodes() {
				if (victim == "the active controller") == n.Controller && n.Leads > 0 {
					kill = n
				}
			}
			if kill.Name == "" {
				t.Fatalf("no node is %s: %+v", victim, kafkaNodes())
			}
			if err := syscall.Kill(systemkit.PidOfProcess(t, kill.Name), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			t.Logf("killed %s (%+v)", kill.Name, kill)
			r.cs.waitAccepted(t, r.cs.count()+300) // 15 s more of orders, with one node gone
			r.holds(t)
			sagasWithin(t, r.user, 20*time.Second)
		})
	}
}

// A Connect worker that runs a connector's task SIGKILLed in the middle of a
// stream of orders and not restarted: the task moves to the other worker,
// relaying resumes within 30 s, and the invariants hold.
func TestClusterSurvivesAConnectWorkerKilled(t *testing.T) {
	c := clusterUnderTest(t)
	r := streamOnCluster(t, c)
	cfg := config.Load()
	client := connectors.NewClient(cfg.ConnectURL)
	store := cfg.Connector(connectors.StoreOutbox)
	state, err := client.Status(context.Background(), store)
	if err != nil || !state.Running() {
		t.Fatalf("connector %s: %+v %v", store, state, err)
	}
	host := state.Tasks[0].WorkerID
	victim, ok := systemkit.Instance().ConnectWorker(host)
	if !ok {
		t.Fatalf("the store connector's task runs on %s, no worker of this instance", host)
	}

	if err := syscall.Kill(systemkit.PidOfProcess(t, victim), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	before := r.cs.count()
	stacktest.Eventually(t, 30*time.Second, "an order placed after the kill completed", func() bool {
		r.cs.mu.Lock()
		after := append([]int64(nil), r.cs.accepted[before:]...)
		r.cs.mu.Unlock()
		for _, id := range after {
			if o, _ := r.s.GetOrder(t, id); o.Status == "Completed" {
				return true
			}
		}
		return false
	})
	t.Logf("relaying resumed %s after %s was killed", time.Since(killed).Round(100*time.Millisecond), victim)
	moved, err := client.Status(context.Background(), store)
	if err != nil || !moved.Running() || moved.Tasks[0].WorkerID == host {
		t.Fatalf("the task did not move off %s: %+v %v", host, moved, err)
	}
	r.cs.waitAccepted(t, r.cs.count()+100)
	r.holds(t)
}

// Every Kafka node restarted in turn under a stream of orders, each once the
// cluster is whole again, as an upgrade does: nothing is lost, no order is
// stuck, and every event the outboxes committed is on its topic.
func TestClusterRollingRestart(t *testing.T) {
	c := clusterUnderTest(t)
	r := streamOnCluster(t, c)
	for k := 1; k <= c.KafkaNodes; k++ {
		systemkit.Stack(t, "restart", systemkit.Instance().Replica("kafka", k))
		clusterWhole(t, c)
		r.cs.waitAccepted(t, r.cs.count()+40)
	}
	r.holds(t)
}

// sagasWithin fails when a saga of user's orders took longer than most from
// its order to its last step.
func sagasWithin(t *testing.T, user int64, most time.Duration) {
	t.Helper()
	db := stacktest.Open(t, config.Load().StoreDSN)
	var id int64
	var took float64
	err := db.QueryRow(`SELECT o.id, TIMESTAMPDIFF(MICROSECOND, o.created_at, MAX(s.created_at)) / 1e6 AS took
		FROM orders o JOIN order_steps s ON s.order_id = o.id WHERE o.user_id = ?
		GROUP BY o.id ORDER BY took DESC LIMIT 1`, user).Scan(&id, &took)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the slowest saga, order %d, took %.1fs", id, took)
	if took > most.Seconds() {
		t.Errorf("order %d's saga took %.1fs, more than %s", id, took, most)
	}
}

// everyEventOnItsTopic reads the orders and payments topics from the start
// and fails when an event the outboxes committed for the orders is not there:
// the broker acknowledged to Debezium only what enough copies hold.
func everyEventOnItsTopic(t *testing.T, orders []int64) {
	t.Helper()
	cfg := config.Load()
	want := map[string]string{} // event id: its type
	in := make([]string, len(orders))
	for i, id := range orders {
		in[i] = strconv.FormatInt(id, 10)
	}
	for _, dsn := range []string{cfg.StoreDSN, cfg.PaymentsDSN} {
		rows, err := stacktest.Open(t, dsn).Query(`SELECT id, type FROM outbox WHERE aggregatetype IN (?, ?) AND aggregateid IN ('`+
			strings.Join(in, "','")+`')`, events.TopicOrders, events.TopicPayments)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, typ string
			if err := rows.Scan(&id, &typ); err != nil {
				t.Fatal(err)
			}
			want[id] = typ
		}
		rows.Close()
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": cfg.KafkaBrokers, "group.id": "cluster-check-" + stacktest.Suffix(),
		"auto.offset.reset": "earliest", "enable.auto.commit": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SubscribeTopics([]string{cfg.Topic(events.TopicOrders), cfg.Topic(events.TopicPayments)}, nil); err != nil {
		t.Fatal(err)
	}
	missing := len(want)
	for deadline := time.Now().Add(60 * time.Second); missing > 0 && time.Now().Before(deadline); {
		m, err := c.ReadMessage(500 * time.Millisecond)
		if err != nil {
			continue
		}
		for _, h := range m.Headers {
			if h.Key == "id" {
				if _, ok := want[string(h.Value)]; ok {
					delete(want, string(h.Value))
					missing--
				}
			}
		}
	}
	if missing > 0 {
		n := 0
		for id, typ := range want {
			if n++; n <= 5 {
				t.Errorf("event %s (%s) is in an outbox but not on its topic", id, typ)
			}
		}
		t.Fatalf("%d events of %d orders are missing from their topics", missing, len(orders))
	}
}
