package stacktest

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/platform/consumer"
	schema "github.com/store-manager/store-manager/sql"
)

// MigratedDatabase creates a scratch database for service (store or
// payments), applies its migrations, drops it when the test ends, and
// returns a DSN for it.
func MigratedDatabase(t testing.TB, service string) string {
	t.Helper()
	dsn := ScratchDatabase(t, "test_"+service)
	if err := schema.Up(dsn, service); err != nil {
		t.Fatalf("migrate scratch %s database: %v", service, err)
	}
	return dsn
}

// Route sends the events of some topics to a registry's handlers. While its
// Gate (if any) is closed, the route's events wait, in order.
type Route struct {
	Registry *consumer.Registry
	Topics   []string
	Gate     *Gate
}

// Gate holds back a route's events while it is closed, as a consumer that is
// down or lagging would; they are delivered, in order, once it opens. The
// zero Gate is open.
type Gate struct {
	mu     sync.Mutex
	closed bool
}

// Close holds the route's events from now on.
func (g *Gate) Close() { g.set(true) }

// Open delivers what was held, then every event as it comes.
func (g *Gate) Open() { g.set(false) }

func (g *Gate) set(closed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = closed
}

// Closed reports whether the gate holds events.
func (g *Gate) Closed() bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Relay stands in for Debezium and Kafka in tests that own their databases:
// it reads the outbox rows of each database as they commit and hands each
// event once, in order, to the handlers of every route that takes its topic,
// in the test process. A handler that fails is retried a few times, then the
// test fails.
type Relay struct {
	t      testing.TB
	dbs    []*sql.DB
	routes []Route
	seen   map[string]bool
	held   [][]consumer.Message // per route, what its closed gate holds
}

// StartRelay relays the outboxes of dbs to routes until the test ends.
func StartRelay(t testing.TB, dbs []*sql.DB, routes ...Route) {
	t.Helper()
	r := &Relay{t: t, dbs: dbs, routes: routes, seen: map[string]bool{}, held: make([][]consumer.Message, len(routes))}
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer done.Done()
		for ctx.Err() == nil {
			for _, db := range r.dbs {
				r.poll(ctx, db)
			}
			r.release(ctx)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); done.Wait() })
}

// poll hands on the rows of one outbox not seen yet. Rows are read from a
// little before the newest one seen, so a transaction that committed late
// with an earlier id is not missed.
func (r *Relay) poll(ctx context.Context, db *sql.DB) {
	rows, err := db.QueryContext(ctx, `SELECT id, aggregatetype, aggregateid, type, payload FROM outbox
		WHERE created_at >= COALESCE((SELECT MAX(created_at) FROM outbox), NOW(6)) - INTERVAL 5 SECOND ORDER BY id`)
	if err != nil {
		return // the test is ending, or the database is gone with it
	}
	var batch []consumer.Message
	for rows.Next() {
		var m consumer.Message
		if err := rows.Scan(&m.ID, &m.Topic, &m.Key, &m.Type, &m.Payload); err != nil {
			break
		}
		if !r.seen[m.ID] {
			batch = append(batch, m)
		}
	}
	rows.Close()
	for _, m := range batch {
		r.seen[m.ID] = true
		r.deliver(ctx, m)
	}
}

// release delivers what the gates that opened held, in order.
func (r *Relay) release(ctx context.Context) {
	for i, route := range r.routes {
		for len(r.held[i]) > 0 && !route.Gate.Closed() {
			m := r.held[i][0]
			r.held[i] = r.held[i][1:]
			r.handle(ctx, route, m)
		}
	}
}

func (r *Relay) deliver(ctx context.Context, m consumer.Message) {
	for i, route := range r.routes {
		if !takes(route.Topics, m.Topic) {
			continue
		}
		if route.Gate.Closed() || len(r.held[i]) > 0 {
			r.held[i] = append(r.held[i], m)
			continue
		}
		r.handle(ctx, route, m)
	}
}

// handle runs the route's handler of m, if it has one.
func (r *Relay) handle(ctx context.Context, route Route, m consumer.Message) {
	h, ok := route.Registry.Lookup(m)
	if !ok {
		return
	}
	var err error
	for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
		if err = h(ctx, m); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil && ctx.Err() == nil {
		r.t.Errorf("relay: %s %s on %s kept failing: %v", m.Type, m.ID, m.Topic, err)
	}
}

func takes(topics []string, topic string) bool {
	for _, t := range topics {
		if t == topic {
			return true
		}
	}
	return false
}
