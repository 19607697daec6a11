package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
)

// SagaConsumer names the store's saga consumer group and its processed_events rows.
const SagaConsumer = events.GroupStoreSaga

// SagaTopics are the topics the store's saga handlers consume.
var SagaTopics = []string{events.TopicOrders, events.TopicPayments}

// RegisterSaga adds the store's steps of the order saga to reg. Each runs in
// one transaction that applies the step, writes the next event and records
// the event as processed; the state machine (machine.go) says which steps
// apply to an order in which state.
func (s *Service) RegisterSaga(reg *consumer.Registry) {
	consumer.Handle(reg, events.OrderCreated, s.onOrderCreated)
	consumer.Handle(reg, events.StockDecreaseFailed, s.cancel)
	consumer.Handle(reg, events.StockIncreased, s.cancel)
	consumer.Handle(reg, events.PaymentCreated, s.onPaymentCreated)
	consumer.Handle(reg, events.PaymentCreationFailed, s.onPaymentCreationFailed)
	consumer.Handle(reg, events.PaymentProcessed, s.onPaymentProcessed)
	consumer.Handle(reg, events.PaymentVoided, s.onPaymentSettled)
	consumer.Handle(reg, events.PaymentRefunded, s.onPaymentSettled)
	consumer.Handle(reg, events.OrderCreationFailed, s.onOrderCreationFailed)
}

// The ports a saga step works through: the order (its row and history) and
// the stock. Its events go back to the transaction helper, which writes
// them to the outbox. The store's generated queries are both.
type (
	orderPort interface {
		GetOrderForStep(ctx context.Context, id int64) (storedb.GetOrderForStepRow, error)
		CreateOrderSteps(ctx context.Context, steps []storedb.OrderStep) error
		SaveOrder(ctx context.Context, arg storedb.SaveOrderParams) (int64, error)
		DeleteOrder(ctx context.Context, id int64) (int64, error)
	}
	incidentPort interface {
		CreateIncident(ctx context.Context, arg storedb.CreateIncidentParams) error
	}
	stockPort interface {
		LockStocks(ctx context.Context, productIDs []int64) ([]storedb.LockStocksRow, error)
		DecreaseStock(ctx context.Context, arg storedb.DecreaseStockParams) (int64, error)
		IncreaseStock(ctx context.Context, arg storedb.IncreaseStockParams) (int64, error)
		GetStock(ctx context.Context, productID int64) (storedb.GetStockRow, error)
	}
	stepPorts interface {
		orderPort
		stockPort
		incidentPort
	}
)

// step runs one input on one order in a transaction of its own (or of the
// batch the consumer runs it in), exactly once per event: it locks the
// order, lets decide say what the input does, and carries it out.
func (s *Service) step(ctx context.Context, m consumer.Message, orderID int64, in input) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q Queries) ([]outbox.Event, error) {
		return s.run(ctx, q, m, orderID, in)
	})
}

// run is a step inside its transaction. What taking the stock comes to is
// found first, under the stock rows' locks, so that a shortfall is an
// input like any other and never undoes the transaction.
func (s *Service) run(ctx context.Context, q stepPorts, m consumer.Message, orderID int64, in input) ([]outbox.Event, error) {
	o, ok, err := lockOrder(ctx, q, orderID)
	if err != nil {
		return nil, err
	}
	var row *storedb.Order
	var left map[int64]storedb.LockStocksRow
	if ok {
		row = &o.Order
		if in.kind == events.OrderCreated {
			if _, moves := move(o.Status, inputStockTaken); !moves {
				return nil, nil // a repeated OrderCreated: the stock was settled already
			}
			if left, in, err = stockFor(ctx, q, o.items); err != nil {
				return nil, err
			}
		}
	}
	d := decide(row, in)
	if d.ignore != "" {
		if d.report {
			return nil, s.ignore(ctx, q, m, orderID, d.ignore)
		}
		return nil, nil
	}
	return carryOut(ctx, q, o, d, in, left)
}

// stockFor locks the stock of an order's items and says whether it serves
// them: inputStockTaken with what is left of each, or inputStockShort with
// the first item it cannot serve.
func stockFor(ctx context.Context, q stockPort, items []storedb.OrderItem) (map[int64]storedb.LockStocksRow, input, error) {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ProductID
	}
	rows, err := q.LockStocks(ctx, ids)
	if err != nil {
		return nil, input{}, fmt.Errorf("lock stock: %w", err)
	}
	left := make(map[int64]storedb.LockStocksRow, len(rows))
	for _, r := range rows {
		left[r.ProductID] = r
	}
	for _, it := range items {
		if left[it.ProductID].Quantity < it.Quantity {
			return nil, input{kind: inputStockShort,
				reason: fmt.Sprintf("not enough stock of product %d for %d units", it.ProductID, it.Quantity)}, nil
		}
	}
	return left, input{kind: inputStockTaken}, nil
}

// carryOut does what decision d says to order o and announces the move.
func carryOut(ctx context.Context, q stepPorts, o *order, d decision, in input, left map[int64]storedb.LockStocksRow) ([]outbox.Event, error) {
	var out []outbox.Event
	if d.fail != "" {
		o.fail(d.fail)
	}
	fx := d.t.effects
	if fx&takesStock != 0 {
		taken, err := takeItems(ctx, q, o.items, left)
		if err != nil {
			return nil, err
		}
		o.StockTaken = true
		out = append(out, taken...)
	}
	if fx&returnsStock != 0 && o.StockTaken {
		returned, err := returnStock(ctx, q, o.items)
		if err != nil {
			return nil, err
		}
		o.StockTaken = false
		out = append(out, returned...)
	}
	if fx&recordsPayment != 0 {
		o.PaymentID = sql.NullInt64{Int64: in.payment.PaymentID, Valid: true}
		o.PaymentLink = sql.NullString{String: in.payment.PaymentLink, Valid: true}
	}
	if fx&marksPaid != 0 {
		o.IsPaid = true
	}
	if fx&deletesOrder != 0 {
		if _, err := q.DeleteOrder(ctx, o.ID); err != nil {
			return nil, fmt.Errorf("delete order %d: %w", o.ID, err)
		}
		o.deleted = true
		e, err := o.announce(d.t.announce, d.reason)
		return append(out, e), err
	}
	from := o.Status
	if fx&notesInput != 0 {
		o.Status = d.t.via
		o.note(in.kind, d.noted, now())
	}
	o.Status = d.t.to
	e, err := o.advance(ctx, q, d.t.announce, d.detail, d.reason)
	if err == nil && terminal[d.t.to] && !terminal[from] {
		sagaDuration.WithLabelValues(d.t.to).Observe(time.Since(o.CreatedAt).Seconds())
	}
	return append(out, e), err
}

// takeItems takes each item's units from the stock locked and read as left,
// and announces each product's new stock without reading it back.
func takeItems(ctx context.Context, q stockPort, items []storedb.OrderItem, left map[int64]storedb.LockStocksRow) ([]outbox.Event, error) {
	out := make([]outbox.Event, 0, len(items))
	for _, it := range items {
		n, err := q.DecreaseStock(ctx, storedb.DecreaseStockParams{Amount: it.Quantity, ProductID: it.ProductID})
		if err != nil {
			return nil, fmt.Errorf("decrease stock of product %d: %w", it.ProductID, err)
		}
		if n != 1 { // the row is locked and was read with enough units
			return nil, fmt.Errorf("decrease stock of product %d: %d rows changed", it.ProductID, n)
		}
		st := left[it.ProductID]
		e, err := stockUpdated(events.Stock{ProductID: it.ProductID, Quantity: st.Quantity - it.Quantity, Version: st.Version + 1})
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// sagaDuration is the time from an order's creation to the end of its saga, by outcome.
var sagaDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "saga_duration_seconds",
	Help:    "Time from an order's creation to its saga's terminal state, by outcome (the state).",
	Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 600},
}, []string{"outcome"})

// onOrderCreated takes the stock of every item, or none: StockDecreased or StockDecreaseFailed.
func (s *Service) onOrderCreated(ctx context.Context, m consumer.Message, e events.OrderEvent) error {
	return s.step(ctx, m, e.Order.ID, input{kind: events.OrderCreated})
}

// cancel ends the saga of an order whose step failed and was compensated: OrderCancelled.
func (s *Service) cancel(ctx context.Context, m consumer.Message, e events.OrderEvent) error {
	return s.step(ctx, m, e.Order.ID, input{kind: m.Type})
}

// onPaymentCreated records the payment link and completes the saga, when
// the payment is the one this order asked for: caused by the order's own
// StockDecreased, for the order's total. Any other is ignored and reported.
func (s *Service) onPaymentCreated(ctx context.Context, m consumer.Message, p events.PaymentEvent) error {
	return s.step(ctx, m, p.OrderID, input{kind: m.Type, payment: &p})
}

// onPaymentCreationFailed compensates the stock step: StockIncreased.
func (s *Service) onPaymentCreationFailed(ctx context.Context, m consumer.Message, p events.PaymentEvent) error {
	return s.step(ctx, m, p.OrderID, input{kind: m.Type, reason: paymentFailure(p)})
}

// onPaymentProcessed marks the order paid, when the payment is the order's
// own and the order is live; any other is ignored and reported.
func (s *Service) onPaymentProcessed(ctx context.Context, m consumer.Message, p events.PaymentEvent) error {
	return s.step(ctx, m, p.OrderID, input{kind: m.Type, payment: &p})
}

// onPaymentSettled ends an order being cancelled or deleted once payments
// has voided or refunded its payment, in answer to the order's own
// OrderCancelling or OrderDeleting: the stock comes back and the order is
// Cancelled, or deleted. Any other refund is reported.
func (s *Service) onPaymentSettled(ctx context.Context, m consumer.Message, p events.PaymentEvent) error {
	return s.step(ctx, m, p.OrderID, input{kind: m.Type, payment: &p})
}

// onOrderCreationFailed closes the saga of an order that could not start.
func (s *Service) onOrderCreationFailed(ctx context.Context, m consumer.Message, e events.OrderEvent) error {
	return s.step(ctx, m, e.Order.ID, input{kind: m.Type, reason: e.Reason})
}

// ignore records a money event the store refuses to apply as an incident,
// in the step's transaction, for an operator to look into (storectl
// incidents), and logs and counts it.
func (s *Service) ignore(ctx context.Context, q incidentPort, m consumer.Message, orderID int64, why string) error {
	slog.WarnContext(ctx, "saga event ignored", "event_id", m.ID, "type", m.Type, "order_id", orderID, "reason", why)
	IgnoredEvents.WithLabelValues(m.Type).Inc()
	err := q.CreateIncident(ctx, storedb.CreateIncidentParams{OrderID: orderID, EventID: m.ID, EventType: m.Type, Reason: truncate(why, 512)})
	if err != nil {
		return fmt.Errorf("record incident of event %s: %w", m.ID, err)
	}
	return nil
}

// IgnoredEvents counts the money events the store refused to apply, by type.
var IgnoredEvents = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "store_saga_events_ignored_total",
	Help: "Payment events the store refused to apply because they do not match their order; each is an incident.",
}, []string{"type"})

// DeadLetter flags the order of a saga event that kept failing, so it is
// seen rather than silently dropped: NeedsAttention, with the error. An
// OrderCreated that could not be processed becomes OrderCreationFailed.
func (s *Service) DeadLetter(ctx context.Context, m consumer.Message, cause error) error {
	orderID, err := strconv.ParseInt(m.Key, 10, 64)
	if err != nil {
		return nil // not an order's event: the dead-letter topic keeps it
	}
	return s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		return s.run(ctx, q, m, orderID, input{kind: inputDeadLetter, deadLettered: m.Type,
			reason: fmt.Sprintf("%s event %s failed: %v", m.Type, m.ID, cause)})
	})
}

// ExpireSagas cancels, every interval until ctx ends, the orders whose saga
// has not ended deadline after their creation, "timed out", with the step
// in its history. An order that has not taken its stock is Cancelled at
// once. One that has may have a payment: it becomes Cancelling
// (OrderCancelling), and is Cancelled, its stock returned, when payments
// has voided or refunded that payment. Every replica may run it: each
// order is expired under its row lock, once.
func (s *Service) ExpireSagas(ctx context.Context, deadline, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := s.ExpireOverdue(ctx, deadline); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "expire sagas", "err", err)
		}
	}
}

// ExpireOverdue cancels, now, the orders whose saga has not ended deadline
// after their creation, as ExpireSagas does at each tick.
func (s *Service) ExpireOverdue(ctx context.Context, deadline time.Duration) error {
	before := time.Now().Add(-deadline)
	ids, err := s.db.Queries().ListOverdueOrders(ctx, storedb.ListOverdueOrdersParams{Before: before, Limit: 100})
	if err != nil {
		return fmt.Errorf("list overdue orders: %w", err)
	}
	for _, id := range ids {
		expired := false
		err := s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
			o, ok, err := lockOrder(ctx, q, id)
			if !ok || err != nil || !o.CreatedAt.Before(before) {
				return nil, err
			}
			d := decide(&o.Order, input{kind: inputDeadline, reason: "timed out: the saga did not end within " + deadline.String()})
			if d.ignore != "" {
				return nil, nil // it ended meanwhile
			}
			expired = true
			return carryOut(ctx, q, o, d, input{kind: inputDeadline}, nil)
		})
		if err != nil {
			return fmt.Errorf("expire order %d: %w", id, err)
		}
		if expired {
			expiredSagas.Inc()
		}
	}
	return nil
}

// expiredSagas counts the sagas cancelled for being past their deadline.
var expiredSagas = promauto.NewCounter(prometheus.CounterOpts{
	Name: "saga_expired_total",
	Help: "Sagas cancelled because they had not ended by their deadline.",
})
