package systemtest

import (
	"bufio"
	"context"
	"net/http"
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
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// What the tests do to their own instance stays there: with the default
// instance running (started here when it is not) and a stream of orders
// going through it, every infrastructure component of the instance under
// test is killed and restarted and its binlogs are purged. The default
// instance's orders all end, its connectors neither restart, nor snapshot,
// nor lose their place in the binlog, and its connectors, topics and
// consumer groups are the same afterwards.
func TestDisruptionStaysInItsInstance(t *testing.T) {
	s := systemkit.New(t)
	if systemkit.Instance().Name == "" {
		t.Skip("runs against an instance beside the default one (make test's)")
	}
	def := systemkit.InstanceBeside(t, "")
	demo := def.Client()
	if r, err := demo.Try("GET", "/health-check", nil); err != nil || r.Status != 200 {
		t.Log("no default instance runs: starting one (make run)")
		def.Run(t, "make", "--no-print-directory", "run")
		t.Cleanup(func() { def.Run(t, "bash", "stack/stack.sh", "stop") })
	}
	buyer := systemkit.System{Store: demo, Payments: demo}
	user := buyer.User(t)
	_, products := buyer.Products(t, 3, 10_000)
	cs := startStream(buyer, user, products, 200*time.Millisecond)
	t.Cleanup(cs.end)
	cs.waitAccepted(t, 20) // what the stream needs of the default instance exists before it is looked at

	ctx := systemkit.Ctx(t)
	connect := connectors.NewClient(def.Vars["KAFKA_CONNECT_URL"])
	connectLog := filepath.Join(def.Vars["INSTANCE_STATE"], "logs", "connect.log")
	supervisor := "http://" + def.Vars["SUPERVISOR_METRICS_ADDR"] + "/metrics"
	before := kafkaInventory(t, ctx, def.Vars["KAFKA_BROKERS"], connect)
	positions := map[string][]connectors.Position{}
	for _, name := range before.connectors {
		ps, err := connect.Positions(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		positions[name] = ps
	}
	logStart := fileSize(t, connectLog)
	actions := metricSum(t, supervisor, "connect_supervisor_actions_total")

	// The instance under test loses its whole infrastructure at once, then its binlogs.
	for _, victim := range []string{"connect", "kafka", "mariadb", "redis"} {
		if err := syscall.Kill(systemkit.PidOf(t, victim), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second)
	systemkit.Stack(t, "start")
	purgeBinaryLogs(t)
	direct := stacktest.NewClient(systemkit.Instance().StoreURL())
	stacktest.Eventually(t, 90*time.Second, "the instance under test is ready again", func() bool {
		r, err := direct.Try("GET", "/ready", nil)
		return err == nil && r.Status == 200
	})
	s.User(t)
	cs.waitAccepted(t, cs.count()+20)
	cs.end()

	ended := buyer.Settle(t, 90*time.Second, cs.accepted...)
	for id, o := range ended {
		if o.Status != "Completed" {
			t.Errorf("order %d of the default instance ended %s (%s)", id, o.Status, o.FailureReason)
		}
	}
	after := kafkaInventory(t, ctx, def.Vars["KAFKA_BROKERS"], connect)
	for what, lists := range map[string][2][]string{
		"connectors": {before.connectors, after.connectors}, "topics": {before.topics, after.topics}, "consumer groups": {before.groups, after.groups},
	} {
		if !slices.Equal(lists[0], lists[1]) {
			t.Errorf("the default instance's %s changed:\nbefore %q\nafter  %q", what, lists[0], lists[1])
		}
	}
	for name, was := range positions {
		now, err := connect.Positions(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(now) != len(was) {
			t.Errorf("%s: %d positions, had %d", name, len(now), len(was))
			continue
		}
		for i := range now {
			if !was[i].Before(now[i]) || now[i].Snapshot != nil {
				t.Errorf("%s went from %+v to %+v: it lost its place in the binlog", name, was[i], now[i])
			}
		}
	}
	if n := metricSum(t, supervisor, "connect_supervisor_actions_total"); n != actions {
		t.Errorf("the default instance's supervisor acted %v times meanwhile (restarts or offset resets)", n-actions)
	}
	if tail := readFrom(t, connectLog, logStart); strings.Contains(tail, "Snapshot step") {
		t.Errorf("a default connector snapshotted its tables again:\n%s", tail[:min(len(tail), 2000)])
	}
}

// inventory is what an instance has on its Kafka and Connect worker, sorted.
type inventory struct{ connectors, topics, groups []string }

func kafkaInventory(t *testing.T, ctx context.Context, brokers string, connect *connectors.Client) inventory {
	t.Helper()
	var inv inventory
	var err error
	if inv.connectors, err = connect.List(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := kafka.NewAdminClient(&kafka.ConfigMap{"bootstrap.servers": brokers})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	md, err := admin.GetMetadata(nil, true, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	for name := range md.Topics {
		inv.topics = append(inv.topics, name)
	}
	groups, err := admin.ListConsumerGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.Valid {
		inv.groups = append(inv.groups, g.GroupID)
	}
	for _, l := range [][]string{inv.connectors, inv.topics, inv.groups} {
		slices.Sort(l)
	}
	return inv
}

// metricSum adds up every series of a metric on a Prometheus text page.
func metricSum(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// readFrom is what was written to a file past offset.
func readFrom(t *testing.T, path string, offset int64) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String()
}
