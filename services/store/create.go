package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/tracing"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// creating is one order being created: what was asked, and once done, the
// new order's id or why it was refused.
type creating struct {
	ctx    context.Context
	userID int64
	items  []Item // merged, in product order

	done     chan struct{} // woken when finished, or when it is to lead
	lead     bool          // it commits the groups waiting (orderGroups.mu guards lead and finished)
	finished bool          // its group was committed, or failed
	id       int64
	err      error
}

// Group commit of new orders: orders created at the same moment are
// written by one transaction, a statement per table and one commit (one
// fsync) for all of them. Nothing waits to form a group: the first order
// to arrive while fewer than maxCommitters groups are being written
// commits at once, with whatever else is waiting; orders arriving
// meanwhile wait and go in the next group. A committer leaves once its own
// order is done, handing its role to the first order still waiting.
const (
	maxCommitters = 2
	maxGroup      = 32
)

// orderGroups is the queue of orders waiting to be created, and how many
// committers are writing groups.
type orderGroups struct {
	mu         sync.Mutex
	queue      []*creating
	committers int
}

// submit creates c, in the next group that commits, and returns when it is
// done; c.id and c.err tell how it went. commit writes one group.
func (g *orderGroups) submit(c *creating, commit func([]*creating)) {
	g.mu.Lock()
	g.queue = append(g.queue, c)
	c.lead = g.committers < maxCommitters
	if c.lead {
		g.committers++
	}
	for {
		switch {
		case c.finished:
			if c.lead {
				g.handOn(c)
			}
			g.mu.Unlock()
			return
		case !c.lead || len(g.queue) == 0: // waiting for a committer, or for the group c is in
			g.mu.Unlock()
			<-c.done
			g.mu.Lock()
			continue
		}
		n := min(len(g.queue), maxGroup)
		group := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		commit(group)
		g.mu.Lock()
		for _, o := range group {
			o.finished = true
			wake(o)
		}
	}
}

// wake tells c to look at its state again (finished, or to lead); a signal
// it has not taken yet says as much.
func wake(c *creating) {
	select {
	case c.done <- struct{}{}:
	default:
	}
}

// handOn ends c's role of committer: the first order waiting that is not a
// committer already takes it, or there is one committer less. g.mu is held.
func (g *orderGroups) handOn(c *creating) {
	c.lead = false
	for _, next := range g.queue {
		if !next.lead {
			next.lead = true
			wake(next)
			return
		}
	}
	g.committers--
}

// groupSizes is how many orders each group commit wrote.
var groupSizes = promauto.NewHistogram(prometheus.HistogramOpts{
	Name:    "store_order_group_size",
	Help:    "Orders created by one transaction (group commit of concurrent POST /orders).",
	Buckets: []float64{1, 2, 4, 8, 16, 32},
})

// createOrders writes a group of new orders in one transaction. An order
// the group cannot take (its client left, a product unknown, a total too
// high) is answered alone; if the transaction fails (a user unknown fails
// the insert of every order), each order is tried again in a group of its
// own, so each gets its own answer.
func (s *Service) createOrders(group []*creating) {
	live := group[:0:0]
	for _, c := range group {
		if c.err = c.ctx.Err(); c.err == nil {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return
	}
	groupSizes.Observe(float64(len(live)))
	// The transaction is the group's, not one client's: it is not cancelled
	// when the client that happened to commit it leaves.
	ctx := context.WithoutCancel(live[0].ctx)
	var written []*creating
	started := time.Now()
	err := s.exec(ctx, func(q Queries) (out []outbox.Event, err error) {
		written, out, err = writeOrders(ctx, q, live)
		return out, err
	})
	groupSpans(live, started, err)
	if err == nil {
		return
	}
	for _, c := range written {
		c.id = 0
	}
	switch {
	case len(live) > 1:
		for _, c := range live {
			s.createOrders([]*creating{c})
		}
	case txn.MySQLError(err, txn.NoReferencedRow):
		// The user is checked by the orders table's foreign key, not read first.
		live[0].err = errs.Errorf(ErrNotFound, "user %d not found", live[0].userID)
	default:
		live[0].err = err
	}
}

// groupSpans gives each order of a group but the first (whose request's
// trace holds the transaction's own span) a span of the transaction in its
// own trace, so every order's trace shows the transaction that wrote it.
func groupSpans(group []*creating, started time.Time, err error) {
	for _, c := range group[1:] {
		_, span := tracing.Tracer().Start(c.ctx, "SQL transaction", trace.WithTimestamp(started), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(semconv.DBSystemNameMySQL, attribute.Int("txn.group_size", len(group))))
		tracing.End(span, err)
	}
}

// writeOrders writes the orders of group it can take, in four statements
// (their orders, items and first steps, after reading their products'
// prices), and returns them with their OrderCreated events; each event
// carries its own request's trace. An order it cannot take gets its error.
func writeOrders(ctx context.Context, q Queries, group []*creating) ([]*creating, []outbox.Event, error) {
	var ids []int64
	for _, c := range group {
		for _, it := range c.items {
			ids = append(ids, it.ProductID)
		}
	}
	rows, err := q.ListProductPrices(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("read prices: %w", err)
	}
	prices := make(map[int64]money.Cents, len(rows))
	for _, r := range rows {
		if prices[r.ID], err = money.Parse(r.Price); err != nil {
			return nil, nil, fmt.Errorf("price of product %d: %w", r.ID, err)
		}
	}
	at := now()
	var taken []*creating
	var orders []*order
	var orderArgs []any
	for _, c := range group {
		var total money.Cents
		for _, it := range c.items {
			p, ok := prices[it.ProductID]
			if !ok {
				c.err = errs.Errorf(ErrNotFound, "product %d not found", it.ProductID)
				break
			}
			total += p * money.Cents(it.Quantity)
			if total > money.Max {
				c.err = errs.Errorf(ErrInvalid, "the order's total is over %s", money.Max)
				break
			}
		}
		if c.err != nil {
			continue
		}
		traceID := tracing.TraceID(c.ctx)
		o := &order{Order: storedb.Order{
			UserID: c.userID, TotalAmount: total.String(), Status: StatusCreated, CreatedAt: at, UpdatedAt: at,
			TraceID: sql.NullString{String: traceID, Valid: traceID != ""},
		}}
		taken, orders = append(taken, c), append(orders, o)
		orderArgs = append(orderArgs, o.UserID, o.TotalAmount, o.Status, o.CreatedAt, o.UpdatedAt, o.TraceID)
	}
	if len(taken) == 0 {
		return nil, nil, nil
	}
	res, err := txn.InsertRows(ctx, q.db, insertOrders, 6, orderArgs)
	if err != nil {
		return nil, nil, fmt.Errorf("create %d orders: %w", len(taken), err)
	}
	// One INSERT's rows get consecutive ids from the first
	// (checkConsecutiveIDs makes sure the server is set so).
	first, err := res.LastInsertId()
	if err != nil {
		return nil, nil, fmt.Errorf("create %d orders: %w", len(taken), err)
	}
	var itemArgs []any
	var steps []storedb.OrderStep
	out := make([]outbox.Event, len(taken))
	for i, c := range taken {
		o := orders[i]
		o.ID, c.id = first+int64(i), first+int64(i)
		for _, it := range c.items {
			item := storedb.OrderItem{OrderID: o.ID, ProductID: it.ProductID, Quantity: int32(it.Quantity), UnitPrice: prices[it.ProductID].String()}
			o.items = append(o.items, item)
			itemArgs = append(itemArgs, item.OrderID, item.ProductID, item.Quantity, item.UnitPrice)
		}
		o.note(events.OrderCreated, "", at)
		steps = append(steps, o.unsaved...)
		e, err := o.announce(events.OrderCreated, "") // version 1, as the row was inserted
		if err != nil {
			return nil, nil, err
		}
		e.TraceContext = tracing.OutboxContext(c.ctx)
		out[i] = e
	}
	if _, err := txn.InsertRows(ctx, q.db, insertItems, 4, itemArgs); err != nil {
		return nil, nil, fmt.Errorf("create order items: %w", err)
	}
	if err := q.CreateOrderSteps(ctx, steps); err != nil {
		return nil, nil, fmt.Errorf("record first steps: %w", err)
	}
	return taken, out, nil
}

// checkConsecutiveIDs makes sure the rows of one INSERT get consecutive
// ids on db, which writeOrders relies on: InnoDB's "consecutive" (1) or
// "traditional" (0) auto-increment lock mode, with an increment of 1.
func checkConsecutiveIDs(ctx context.Context, db *sql.DB) error {
	var mode, step int
	if err := db.QueryRowContext(ctx, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment").Scan(&mode, &step); err != nil {
		return fmt.Errorf("read the auto-increment settings: %w", err)
	}
	if mode > 1 || step != 1 {
		return errors.New("the store needs innodb_autoinc_lock_mode 0 or 1 and auto_increment_increment 1 " +
			"(one INSERT's order ids are consecutive): found " + strconv.Itoa(mode) + " and " + strconv.Itoa(step))
	}
	return nil
}
