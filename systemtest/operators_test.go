package systemtest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/operations/kafkainspect"
	"github.com/store-manager/store-manager/operations/reconcile"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// storectl runs the operators' CLI, as built by the stack, in the stack's
// instance (the test's environment), and returns its output and exit code.
func storectl(t *testing.T, args ...string) (string, int) { return storectlWith(t, nil, args...) }

// storectlWith is storectl with env (NAME=value) added to the test's environment.
func storectlWith(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(systemkit.Bin("storectl"), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// storectl status answers "is it healthy?" in one command: every component
// up, the connectors running and relaying, and it exits 0.
func TestStatusReportsAHealthySystem(t *testing.T) {
	systemkit.New(t)
	var r struct {
		Healthy    bool
		Problems   []string
		Components map[string]bool
		Connectors []struct {
			Name      string
			State     string
			CanaryAge *float64 `json:"canary_age_seconds"`
		}
	}
	stacktest.Eventually(t, 30*time.Second, "status healthy", func() bool {
		out, code := storectl(t, "status", "--json")
		return json.Unmarshal([]byte(out), &r) == nil && code == 0 && r.Healthy
	})
	if len(r.Components) < 8 || len(r.Connectors) != 2 {
		t.Fatalf("status reports %d components and %d connectors: %+v", len(r.Components), len(r.Connectors), r)
	}
	for _, c := range r.Connectors {
		if c.State != "RUNNING" || c.CanaryAge == nil || *c.CanaryAge > 15 {
			t.Errorf("connector %+v", c)
		}
	}
}

// A check storectl status could not make is reported as unknown, and the
// system is then not called healthy: here the outbox gauge, asked of an
// address that answers its health check but has no metrics (the gateway),
// and the sagas, asked of a database account that cannot log in.
func TestStatusNeverCallsHealthyWhatItCouldNotCheck(t *testing.T) {
	systemkit.New(t)
	cases := []struct {
		name, env, unknown string
	}{
		{"metrics that do not answer", "STORE_URL=" + systemkit.GatewayURL(), "the outbox of store-manager"},
		{"a database that refuses the account", "STORE_DB_DSN=" + strings.Replace(config.Load().StoreDSN, "store:store@", "store:wrong@", 1), "sagas"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, code := storectlWith(t, []string{tc.env}, "status", "--json")
			var r struct {
				Healthy bool
				Unknown []string
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("status --json: %v\n%s", err, out)
			}
			if code == 0 || r.Healthy || !slices.ContainsFunc(r.Unknown, func(u string) bool { return strings.HasPrefix(u, tc.unknown) }) {
				t.Fatalf("status = exit %d, healthy %v, unknown %q; want unhealthy with %q unknown", code, r.Healthy, r.Unknown, tc.unknown)
			}
		})
	}
}

// A dead letter can be listed, shown and replayed once its cause is fixed;
// the replayed event has a single effect.
func TestDeadLettersCanBeReplayed(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "2.00", 10)
	id := s.Order(t, user, product, 1)
	before := s.Settle(t, 20*time.Second, id)[id]
	key := strconv.FormatInt(id, 10)
	// The order's StockDecreased, as if the payments step had given up on it.
	decreased := findMessage(t, events.TopicOrders, key, events.StockDecreased)
	dlq := config.Load().Topic(consumer.DeadLetterTopic(events.TopicOrders))
	landed := redeliver(t, &kafka.Message{
		TopicPartition: kafka.TopicPartition{Topic: &dlq, Partition: kafka.PartitionAny},
		Key:            decreased.Key, Value: decreased.Value,
		Headers: append(slices.Clone(decreased.Headers), kafka.Header{Key: "error", Value: []byte("payments database unreachable")}),
	})
	at := fmt.Sprintf("%d:%d", landed.Partition, landed.Offset)

	list, _ := storectl(t, "dlq", "list", events.TopicOrders)
	if !strings.Contains(list, at) || !strings.Contains(list, "payments database unreachable") {
		t.Fatalf("dlq list does not show %s:\n%s", at, list)
	}
	show, _ := storectl(t, "dlq", "show", events.TopicOrders, at)
	if !strings.Contains(show, `"StockDecreased"`) || !strings.Contains(show, `"payload"`) {
		t.Fatalf("dlq show %s:\n%s", at, show)
	}
	if out, code := storectl(t, "dlq", "replay", events.TopicOrders, at); code != 0 || !strings.Contains(out, "replayed") {
		t.Fatalf("dlq replay = %d %s", code, out)
	}
	group := config.Load().Group(events.GroupPaymentsSaga)
	stacktest.Eventually(t, 30*time.Second, "the replay handled", func() bool {
		lags, err := kafkainspect.GroupLags(config.Load().KafkaBrokers, group, []string{config.Load().Topic(events.TopicOrders)})
		if err != nil {
			return false
		}
		for _, l := range lags {
			if l.Behind > 0 {
				return false
			}
		}
		return true
	})
	after, _ := s.GetOrder(t, id)
	if !slices.Equal(after.Steps, before.Steps) || after.PaymentID != before.PaymentID || after.Status != store.StatusCompleted {
		t.Fatalf("after the replay: %+v; before: %+v", after, before)
	}
}

// A connector task that fails (its database account locked while it
// restarts) comes back by itself once the cause is gone: the supervisor
// restarts it, and the orders placed meanwhile complete.
func TestFailedTaskComesBackByItself(t *testing.T) {
	s := systemkit.New(t)
	st := stacktest.Stack(t)
	admin := stacktest.Open(t, st.AdminDSN)
	client := connectors.NewClient(st.ConnectURL)
	all, err := connectors.ForStack(st)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, c := range all {
		if c.Base == connectors.StoreOutbox {
			name = c.Name
		}
	}
	unlock := func() { _, _ = admin.Exec("ALTER USER 'debezium'@'%' ACCOUNT UNLOCK") }
	t.Cleanup(unlock)
	if _, err := admin.Exec("ALTER USER 'debezium'@'%' ACCOUNT LOCK"); err != nil {
		t.Fatal(err)
	}
	if err := client.Restart(systemkit.Ctx(t), name); err != nil {
		t.Fatal(err)
	}
	stacktest.Eventually(t, 60*time.Second, name+" failed", func() bool {
		st, err := client.Status(systemkit.Ctx(t), name)
		return err == nil && len(st.Tasks) > 0 && st.Tasks[0].State == "FAILED"
	})
	user, product := s.User(t), s.Product(t, "1.00", 10)
	id := s.Order(t, user, product, 1)
	unlock()
	o := s.Settle(t, 90*time.Second, id)[id]
	if o.Status != store.StatusCompleted {
		t.Fatalf("order = %+v, want Completed", o)
	}
}

// The components run with the durability docs/architecture.md states: every
// commit synced to the redo log and the binlog, the binlog kept no longer than
// the outbox's 72 hours, Redis's AOF, and topics kept 7 days, which the
// inbox's 8-day retention outlasts.
func TestDurabilityAsDocumented(t *testing.T) {
	st := stacktest.Stack(t)
	ctx := t.Context()
	var syncBinlog, flushAtCommit, binlogSeconds int64
	err := stacktest.Open(t, st.StoreDSN).QueryRowContext(ctx,
		`SELECT @@sync_binlog, @@innodb_flush_log_at_trx_commit, @@binlog_expire_logs_seconds`).
		Scan(&syncBinlog, &flushAtCommit, &binlogSeconds)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: st.RedisAddr})
	defer rdb.Close()
	aof, err := rdb.ConfigGet(ctx, "append*").Result()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": st.KafkaBrokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.DescribeConfigs(ctx, []kafka.ConfigResource{{Type: kafka.ResourceBroker, Name: "1"}})
	if err != nil || len(res) != 1 {
		t.Fatalf("describe broker: %v %v", res, err)
	}
	checks := []struct {
		setting   string
		got, want string
	}{
		{"MariaDB sync_binlog", fmt.Sprint(syncBinlog), "1"},
		{"MariaDB innodb_flush_log_at_trx_commit", fmt.Sprint(flushAtCommit), "1"},
		{"MariaDB binlog expiry ≤ 72h", fmt.Sprint(binlogSeconds > 0 && binlogSeconds <= 72*3600), "true"},
		{"Redis appendonly", aof["appendonly"], "yes"},
		{"Redis appendfsync", aof["appendfsync"], "everysec"},
		{"Kafka log.retention.hours", res[0].Config["log.retention.hours"].Value, "168"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.setting, c.got, c.want)
		}
	}
}

// storectl reconcile finds a payment and its order that disagree, names
// them, and exits non-zero; here a payment captured behind the store's back.
func TestReconcileFindsWhatDisagrees(t *testing.T) {
	s := systemkit.New(t)
	user, product := s.User(t), s.Product(t, "3.00", 5)
	id := s.Order(t, user, product, 1)
	if o := s.Settle(t, 20*time.Second, id)[id]; o.Status != "Completed" {
		t.Fatalf("order %d ended %s", id, o.Status)
	}
	mentions := func() bool {
		out, code := storectl(t, "reconcile", "--json", "-settle", "0s")
		var found []reconcile.Disagreement
		if err := json.Unmarshal([]byte(out), &found); err != nil {
			t.Fatalf("reconcile --json: %v\n%s", err, out)
		}
		mentioned := slices.ContainsFunc(found, func(d reconcile.Disagreement) bool { return d.OrderID == id })
		if mentioned && code == 0 {
			t.Fatalf("reconcile listed order %d and exited 0", id)
		}
		return mentioned
	}
	if mentions() {
		t.Fatalf("order %d disagrees before anything was changed", id)
	}
	payments := stacktest.Open(t, config.Load().PaymentsDSN)
	capture := func(paid bool) {
		if _, err := payments.Exec(`UPDATE payments SET is_paid = ? WHERE order_id = ?`, paid, id); err != nil {
			t.Fatal(err)
		}
	}
	capture(true)
	t.Cleanup(func() { capture(false) })
	if !mentions() {
		t.Fatalf("a payment captured without its order knowing was not reported for order %d", id)
	}
}

// Kafka's own tools, as the stack installs them in the instance's bin/,
// answer about the instance's cluster: its topics, its consumer groups,
// its metadata quorum.
func TestKafkaToolsReachTheInstance(t *testing.T) {
	systemkit.New(t)
	st := config.Load()
	cases := []struct {
		tool string
		args []string
		want string
	}{
		{"kafka-topics", []string{"--list"}, st.Topic(events.TopicOrders)},
		{"kafka-consumer-groups", []string{"--list"}, st.Group(events.GroupStoreSaga)},
		{"kafka-metadata-quorum", []string{"describe", "--status"}, "LeaderId:"},
		{"kafka-get-offsets", []string{"--topic", st.Topic(events.TopicOrders)}, st.Topic(events.TopicOrders) + ":0:"},
	}
	for _, tc := range cases {
		t.Run(tc.tool, func(t *testing.T) {
			out, err := exec.Command(filepath.Join(systemkit.StateDir(), "bin", tc.tool), tc.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", tc.tool, tc.args, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("%s %v does not mention %q:\n%s", tc.tool, tc.args, tc.want, out)
			}
		})
	}
}
