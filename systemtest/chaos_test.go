package systemtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/operations/reconcile"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// chaosStream places orders through the gateway over several products, at
// a steady pace, and records what every request got. A request cut by a
// failure may still have created its order: tests find orders in the database.
type chaosStream struct {
	mu       sync.Mutex
	accepted []int64
	refused  []string // status and body of answers other than 201
	slowest  time.Duration
	stop     chan struct{}
	stopped  sync.Once
	done     sync.WaitGroup
}

// startChaosStream places an order every 15 ms.
func startChaosStream(s systemkit.System, user int64, products []int64) *chaosStream {
	return startStream(s, user, products, 15*time.Millisecond)
}

func startStream(s systemkit.System, user int64, products []int64, every time.Duration) *chaosStream {
	cs := &chaosStream{stop: make(chan struct{})}
	cs.done.Add(1)
	go func() {
		defer cs.done.Done()
		for i := 0; ; i++ {
			select {
			case <-cs.stop:
				return
			case <-time.After(every):
			}
			body := map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": products[i%len(products)], "quantity": 1}}}
			start := time.Now()
			r, err := s.Store.Try("POST", "/orders", body)
			took := time.Since(start)
			cs.mu.Lock()
			cs.slowest = max(cs.slowest, took)
			switch {
			case err != nil:
				cs.refused = append(cs.refused, "no answer at "+start.Format("15:04:05.000")+": "+err.Error())
			case r.Status == 201:
				cs.accepted = append(cs.accepted, r.Int("order_id"))
			default:
				cs.refused = append(cs.refused, fmt.Sprintf("%d %s %s", r.Status, r.Header.Get("Content-Type"), r.Raw))
			}
			cs.mu.Unlock()
		}
	}()
	return cs
}

func (cs *chaosStream) count() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.accepted)
}

func (cs *chaosStream) waitAccepted(t *testing.T, n int) {
	t.Helper()
	stacktest.Eventually(t, 60*time.Second, fmt.Sprintf("%d orders accepted", n), func() bool { return cs.count() >= n })
}

// end stops the stream and waits for its last request; ending it again does nothing.
func (cs *chaosStream) end() {
	cs.stopped.Do(func() { close(cs.stop) })
	cs.done.Wait()
}

// Every component SIGKILLed in the middle of a stream of orders through the
// gateway, then restarted through the stack script: nothing accepted is
// lost, nothing stays stuck, nothing is taken or paid twice, and the read
// models agree with the database. Requests refused meanwhile get a JSON
// error from the gateway or the service, never a hang. Without the trace
// backend, orders go on being accepted and completed: their spans are
// dropped.
func TestEveryComponentKilledMidStream(t *testing.T) {
	for _, victim := range []string{"store-manager", "payments", "kafka", "connect", "mariadb", "redis", "zipkin"} {
		t.Run(victim, func(t *testing.T) {
			s := systemkit.New(t)
			user := s.User(t)
			products, ids := s.Products(t, 3, 1000)
			restart := func() {
				if victim == "store-manager" || victim == "payments" {
					systemkit.Stack(t, "app", victim)
				} else {
					systemkit.Stack(t, "start")
				}
			}
			t.Cleanup(restart)
			cs := startChaosStream(s, user, ids)
			cs.waitAccepted(t, 20)
			if err := syscall.Kill(systemkit.PidOf(t, victim), syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second)
			if victim == "zipkin" {
				cs.waitAccepted(t, cs.count()+20)
			}
			restart()
			cs.waitAccepted(t, cs.count()+20) // orders are accepted again once it is back
			cs.end()
			invariants(t, s, 60*time.Second, user, products, cs)
		})
	}
}

// invariants checks what must hold after a failure, for user's orders on
// products; the orders have settle to reach a terminal state.
func invariants(t *testing.T, s systemkit.System, settle time.Duration, user int64, products map[int64]int64, cs *chaosStream) {
	t.Helper()
	inDB := ordersOf(t, user)
	for _, id := range cs.accepted {
		if !slices.Contains(inDB, id) {
			t.Errorf("order %d was accepted (201) but does not exist", id)
		}
	}
	unanswered := false
	for _, r := range cs.refused {
		if !strings.Contains(r, "application/json") || !(strings.HasPrefix(r, "502") || strings.HasPrefix(r, "503") ||
			strings.HasPrefix(r, "504")) {
			t.Errorf("a request refused during the failure got %s", r[:min(len(r), 200)])
			unanswered = unanswered || strings.HasPrefix(r, "no answer")
		}
	}
	if unanswered {
		logTail(t, systemkit.Instance().Process("gateway")+"-error.log", 30)
	}
	if cs.slowest > 8*time.Second {
		t.Errorf("a request took %s: past the gateway's timeout", cs.slowest)
	}
	settled := s.Settle(t, settle, inDB...)
	moneyAgrees(t, inDB)
	sold := map[int64]int64{}
	for id, o := range settled {
		took := 0
		for _, st := range o.Steps {
			if st == events.StockDecreased {
				took++
			}
		}
		if took > 1 {
			t.Errorf("order %d took its stock %d times", id, took)
		}
		if o.Status != "Completed" && o.Status != "Cancelled" {
			t.Errorf("order %d ended %s", id, o.Status)
		}
	}
	db := stacktest.Open(t, config.Load().StoreDSN)
	rows, err := db.Query(`SELECT i.product_id, SUM(i.quantity) FROM order_items i JOIN orders o ON o.id = i.order_id
		WHERE o.user_id = ? AND o.status = 'Completed' GROUP BY i.product_id`, user)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var product, n int64
		if err := rows.Scan(&product, &n); err != nil {
			t.Fatal(err)
		}
		sold[product] = n
	}
	rows.Close()
	for product, initial := range products {
		var inStock int64
		if err := db.QueryRow(`SELECT quantity FROM stocks WHERE product_id = ?`, product).Scan(&inStock); err != nil {
			t.Fatal(err)
		}
		if inStock+sold[product] != initial {
			t.Errorf("product %d: %d in stock + %d sold != %d at the start", product, inStock, sold[product], initial)
		}
		// The read model agrees with the database.
		s.StockSettles(t, product, inStock)
	}
	var twice int
	payments := stacktest.Open(t, config.Load().PaymentsDSN)
	if err := payments.QueryRow(`SELECT COUNT(*) FROM (SELECT order_id FROM payments GROUP BY order_id HAVING COUNT(*) > 1) d`).Scan(&twice); err != nil {
		t.Fatal(err)
	}
	if twice > 0 {
		t.Errorf("%d orders have more than one payment", twice)
	}
	for id := range settled {
		var status string
		var version int64
		if err := db.QueryRow(`SELECT status, version FROM orders WHERE id = ?`, id).Scan(&status, &version); err != nil {
			t.Fatal(err)
		}
		stacktest.Eventually(t, 15*time.Second, fmt.Sprintf("order %d read model at v%d", id, version), func() bool {
			r := s.Store.Do(t, "GET", fmt.Sprintf("/orders/%d", id), nil)
			return r.Status == 200 && fmt.Sprint(r.Field("status")) == status
		})
	}
}

// Two replicas of each service behind the gateway, one of each SIGKILLed in
// the middle of a stream of orders and not restarted: the survivors take
// over the requests and the consumer groups' partitions, and the invariants
// of the chaos suite hold.
func TestOneReplicaOfEachKilledMidStream(t *testing.T) {
	s := systemkit.New(t)
	systemkit.StackWith(t, []string{"REPLICAS=2"}, "apps")
	systemkit.StackWith(t, []string{"REPLICAS=2"}, "gateway")
	t.Cleanup(func() {
		systemkit.StackWith(t, []string{"REPLICAS=1"}, "apps")
		systemkit.StackWith(t, []string{"REPLICAS=1"}, "gateway")
	})
	second := replicaURL(t, "store-manager", 2)
	user := s.User(t)
	products, ids := s.Products(t, 3, 1000)
	cs := startChaosStream(s, user, ids)
	cs.waitAccepted(t, 40)
	if placed := metricLines(t, second, `http_request_duration_seconds_count{method="POST",route="/orders",status="201"}`); placed == 0 {
		t.Error("the gateway sent no order to the second store-manager replica")
	}
	paymentsSecond := replicaURL(t, "payments", 2)
	stacktest.Eventually(t, 30*time.Second, "the second payments replica consumes partitions", func() bool {
		return metricLines(t, paymentsSecond, "consumer_lag{") > 0
	})
	for _, name := range []string{"store-manager", "payments"} {
		if err := syscall.Kill(systemkit.PidOfProcess(t, systemkit.Instance().Replica(name, 2)), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	cs.waitAccepted(t, cs.count()+40) // the gateway keeps placing orders with the survivor
	cs.end()
	invariants(t, s, 60*time.Second, user, products, cs)
}

// logTail logs the last n lines of one of the instance's log files, to tell
// what a component saw when a request went wrong.
func logTail(t *testing.T, name string, n int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(systemkit.StateDir(), "logs", name))
	if err != nil {
		t.Logf("no %s: %v", name, err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	t.Logf("the last lines of %s:\n%s", name, strings.Join(lines[max(0, len(lines)-n):], "\n"))
}

// replicaURL is where replica k of a service of the instance under test listens.
func replicaURL(t *testing.T, service string, k int) string {
	t.Helper()
	addr, err := systemkit.Instance().ServiceAddr(service, k)
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// metricLines counts the lines of a service's metrics page that start with prefix.
func metricLines(t *testing.T, base, prefix string) int {
	t.Helper()
	r := stacktest.NewClient(base).Do(t, "GET", "/metrics", nil)
	n := 0
	for _, line := range strings.Split(string(r.Raw), "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

// moneyAgrees waits until the payments database and the store's agree on
// the given orders (storectl reconcile's comparison, on them only: other
// tests leave their own cases behind), and fails with what still disagrees.
func moneyAgrees(t *testing.T, orders []int64) {
	t.Helper()
	st := config.Load()
	payments := paymentsdb.New(stacktest.Open(t, st.PaymentsDSN))
	store := storedb.New(stacktest.Open(t, st.StoreDSN))
	ids := map[int64]bool{}
	for _, id := range orders {
		ids[id] = true
	}
	var found []reconcile.Disagreement
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		all, err := reconcile.Reconcile(context.Background(), payments, store, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// A disagreement is about one order and its payment: those of other orders do not change these.
		if found = slices.DeleteFunc(all, func(d reconcile.Disagreement) bool { return !ids[d.OrderID] }); len(found) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	for _, d := range found {
		t.Errorf("payments and orders disagree: %s", d)
	}
}
