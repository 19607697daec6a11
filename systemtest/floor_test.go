//go:build bench

package systemtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// The floor's shape: floorWorkers clients, each taking floorBatch orders
// at a time through the saga, so each saga step is one batch transaction
// of floorBatch events, as the consumers batch the events waiting in a
// partition.
const (
	floorWorkers = 8
	floorBatch   = 8
)

// floorRun is what the saga's database work alone costs on this machine.
type floorRun struct {
	Sagas      int                `json:"sagas"`
	PerSecond  float64            `json:"sagas_per_s"`
	CPUms      float64            `json:"cpu_ms_per_saga"`      // MariaDB and the clients together
	CPUmsPer   map[string]float64 `json:"cpu_ms_per_saga_by"`   // mariadb, clients
	DBPerSaga  map[string]float64 `json:"mariadb_per_saga"`     // SHOW GLOBAL STATUS deltas
	Statements float64            `json:"statements_per_saga"`  // of which the relay's stand-in reads: 2 per batch
	Relay      float64            `json:"relay_reads_per_saga"` // the statements standing in for Kafka
	Duration   float64            `json:"duration_s"`
}

// meanFloor is the mean of two measures of the floor: its rate, its CPU
// per saga and its statements, commits and fsyncs per saga.
func meanFloor(a, b floorRun) floorRun {
	mean := func(x, y float64) float64 { return (x + y) / 2 }
	m := floorRun{Sagas: a.Sagas + b.Sagas, PerSecond: mean(a.PerSecond, b.PerSecond), CPUms: mean(a.CPUms, b.CPUms),
		Statements: mean(a.Statements, b.Statements), Relay: mean(a.Relay, b.Relay), Duration: a.Duration + b.Duration,
		CPUmsPer: map[string]float64{}, DBPerSaga: map[string]float64{}}
	for k := range a.CPUmsPer {
		m.CPUmsPer[k] = mean(a.CPUmsPer[k], b.CPUmsPer[k])
	}
	for k := range a.DBPerSaga {
		m.DBPerSaga[k] = mean(a.DBPerSaga[k], b.DBPerSaga[k])
	}
	return m
}

// sagaFloor measures the floor: the saga's own database work, replayed by
// the services' own code (store.Service.CreateOrder, whose concurrent
// orders commit in groups, and the saga handlers of both services, each
// batch of events in one transaction as the consumers run them) against
// scratch databases on the same MariaDB, with the same durability, and no
// Kafka, no Connect, no HTTP. The only statements that are not the saga's
// stand in for the relay: per batch, one read of the StockDecreased event
// ids and one of the payment ids, which the saga's next events carry.
func sagaFloor(t *testing.T, admin *sql.DB, d time.Duration) floorRun {
	t.Helper()
	ctx := context.Background()
	storeDB := stacktest.Open(t, stacktest.MigratedDatabase(t, "store"))
	paymentsDB := stacktest.Open(t, stacktest.MigratedDatabase(t, "payments"))
	storeDB.SetMaxOpenConns(4 * floorWorkers)
	paymentsDB.SetMaxOpenConns(2 * floorWorkers)
	sdb, err := store.Prepare(ctx, storeDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sdb.Close() })
	pdb, err := payments.Prepare(ctx, paymentsDB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pdb.Close() })
	st := store.New(sdb, nil)
	pay := payments.New(pdb, payments.Config{MaxAmount: money.Max, LinkBase: "http://127.0.0.1"})
	storeSaga, paymentsSaga := consumer.NewRegistry(), consumer.NewRegistry()
	st.RegisterSaga(storeSaga)
	pay.RegisterSaga(paymentsSaga)

	user, err := st.CreateUser(ctx, "Floor", "floor-"+stacktest.Suffix()+"@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var products []int64
	for i := range 200 {
		id, err := st.CreateProduct(ctx, fmt.Sprintf("Floor %d", i), fmt.Sprintf("FLOOR-%d-%s", i, stacktest.Suffix()), "1.00")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SetStock(ctx, id, store.MaxStock); err != nil {
			t.Fatal(err)
		}
		products = append(products, id)
	}

	var done atomic.Int64
	var next atomic.Int64
	deadline := time.Now().Add(d)
	cpu0, self0, status0 := processUse()["mariadb"], selfUse(t), mariadbStatus(t, admin)
	start := time.Now()
	var wg sync.WaitGroup
	for range floorWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				orders := make([]events.Order, floorBatch)
				var placed sync.WaitGroup
				for i := range orders {
					placed.Add(1)
					go func() { // concurrent requests, as the HTTP handlers are
						defer placed.Done()
						product := products[int(next.Add(1))%len(products)]
						id, err := st.CreateOrder(ctx, user, []store.Item{{ProductID: product, Quantity: 1}})
						if err != nil {
							t.Error(err)
						}
						orders[i] = events.Order{ID: id, UserID: user, TotalAmount: "1.00"}
					}()
				}
				placed.Wait()
				if t.Failed() {
					return
				}
				floorSteps(t, sdb, pdb, storeDB, paymentsDB, storeSaga, paymentsSaga, pay, orders)
				done.Add(floorBatch)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	cpu1, self1, status1 := processUse()["mariadb"], selfUse(t), mariadbStatus(t, admin)

	n := float64(done.Load())
	run := floorRun{Sagas: int(n), PerSecond: n / elapsed, Duration: elapsed, CPUmsPer: map[string]float64{
		"mariadb": cpu1.Sub(cpu0).CPU() * 1000 / n, "clients": self1.Sub(self0).CPU() * 1000 / n,
	}}
	run.CPUms = run.CPUmsPer["mariadb"] + run.CPUmsPer["clients"]
	dd := func(k string) float64 { return (status1[k] - status0[k]) / n }
	run.DBPerSaga = map[string]float64{"statements": dd("Questions"), "commits": dd("Com_commit"), "fsyncs": dd("Innodb_data_fsyncs")}
	run.Relay = 2.0 / floorBatch
	run.Statements = run.DBPerSaga["statements"] - run.Relay

	var open int
	if err := storeDB.QueryRow(`SELECT COUNT(*) FROM orders WHERE status <> 'Completed'`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open > 0 {
		t.Errorf("floor: %d of its orders did not complete: the replay is not the saga", open)
	}
	return run
}

// floorSteps takes a batch of new orders through the saga's three steps
// after their creation, each step one batch transaction of the service
// that takes it, handled by the service's own handlers.
func floorSteps(t *testing.T, sdb *store.DB, pdb *payments.DB, storeDB, paymentsDB *sql.DB,
	storeSaga, paymentsSaga *consumer.Registry, pay *payments.Service, orders []events.Order) {
	t.Helper()
	ctx := context.Background()
	msg := func(typ, topic string, key int64, payload any) consumer.Message {
		raw, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		return consumer.Message{ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Topic: topic, Key: strconv.FormatInt(key, 10), Payload: raw}
	}
	handle := func(reg *consumer.Registry, ms []consumer.Message) func(context.Context) error {
		return func(ctx context.Context) error {
			for _, m := range ms {
				h, ok := reg.Lookup(m)
				if !ok {
					return fmt.Errorf("no handler of %s", m.Type)
				}
				if err := h(ctx, m); err != nil {
					return err
				}
			}
			return nil
		}
	}
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = strconv.FormatInt(o.ID, 10)
	}
	in := strings.Join(ids, ",")

	// The store takes the stock: StockDecreased.
	created := make([]consumer.Message, len(orders))
	for i, o := range orders {
		created[i] = msg(events.OrderCreated, events.TopicOrders, o.ID, events.OrderEvent{Order: o})
	}
	if err := sdb.Batch(ctx, handle(storeSaga, created)); err != nil {
		t.Fatalf("floor, stock step: %v", err)
	}
	// Payments records the orders and creates their payments: PaymentCreated.
	decreased := map[int64]string{}
	rows, err := storeDB.Query(`SELECT id, stock_event_id FROM orders WHERE id IN (` + in + `)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var event string
		if err := rows.Scan(&id, &event); err != nil {
			t.Fatal(err)
		}
		decreased[id] = event
	}
	rows.Close()
	var paying []consumer.Message
	for i, o := range orders {
		m := msg(events.StockDecreased, events.TopicOrders, o.ID, events.OrderEvent{Order: o})
		m.ID = decreased[o.ID]
		paying = append(paying, created[i], m)
	}
	if err := pdb.Batch(ctx, handle(paymentsSaga, paying)); err != nil {
		t.Fatalf("floor, payment step: %v", err)
	}
	// The store records the payments and completes the sagas: SagaCompleted.
	var paid []consumer.Message
	rows, err = paymentsDB.Query(`SELECT id, order_id FROM payments WHERE order_id IN (` + in + `)`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, order int64
		if err := rows.Scan(&id, &order); err != nil {
			t.Fatal(err)
		}
		paid = append(paid, msg(events.PaymentCreated, events.TopicPayments, order, events.PaymentEvent{
			OrderID: order, PaymentID: id, UserID: orders[0].UserID, TotalAmount: "1.00", PaymentLink: pay.Link(id), CausedBy: decreased[order],
		}))
	}
	rows.Close()
	if err := sdb.Batch(ctx, handle(storeSaga, paid)); err != nil {
		t.Fatalf("floor, completion step: %v", err)
	}
}

// selfUse is this process's use so far: the floor's clients.
func selfUse(t *testing.T) systemkit.Use {
	t.Helper()
	u, err := systemkit.UseOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return u
}
