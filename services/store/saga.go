package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/platform/outbox"
)

// SagaConsumer names the store's saga consumer group and its processed_events rows.
const SagaConsumer = "store-manager-saga"

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
	consumer.Handle(reg, events.OrderCreationFailed, s.onOrderCreationFailed)
}

// errInsufficientStock aborts the stock step's transaction, undoing the
// items already taken, so the step is all-or-nothing.
var errInsufficientStock = errors.New("insufficient stock")

// applyFn changes an order for a step and returns the events the change
// caused besides the step's own, and the step's detail for the history.
type applyFn func(q Queries, o *order) (events []outbox.Event, detail string, err error)

// step runs a saga step exactly once per event, in one transaction: it locks
// the event's order and, when the state machine moves the order on input,
// applies fn, moves the order and announces the move. A deleted order, or
// one the input does not move, leaves nothing to do.
func (s *Service) step(ctx context.Context, m consumer.Message, orderID int64, input string, fn applyFn) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, orderID)
		if !ok || err != nil {
			return nil, err
		}
		t, ok := move(o.Status, input)
		if !ok {
			return nil, nil
		}
		return apply(ctx, q, o, t, fn)
	})
}

// failing are the states of a saga that failed: their announcements carry
// the failure reason, as the step's detail and the event's reason.
var failing = map[string]bool{
	StatusStockDecreaseFailed: true, StatusStockIncreased: true, StatusCancelled: true, StatusNeedsAttention: true,
}

// apply runs fn on o, then moves o as t says and announces it, with the
// detail fn returned.
func apply(ctx context.Context, q Queries, o *order, t transition, fn applyFn) ([]outbox.Event, error) {
	var out []outbox.Event
	var detail string
	if fn != nil {
		var err error
		if out, detail, err = fn(q, o); err != nil {
			return nil, err
		}
	}
	from := o.Status
	o.Status = t.to
	reason := ""
	if failing[t.to] {
		detail, reason = o.FailureReason.String, o.FailureReason.String
	}
	e, err := o.advance(ctx, q, t.announce, detail, reason)
	if err == nil && terminal[t.to] && !terminal[from] {
		sagaDuration.WithLabelValues(t.to).Observe(time.Since(o.CreatedAt).Seconds())
	}
	return append(out, e), err
}

// terminal are the states a saga ends in.
var terminal = map[string]bool{StatusCompleted: true, StatusCancelled: true, StatusNeedsAttention: true}

// sagaDuration is the time from an order's creation to the end of its saga, by outcome.
var sagaDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "saga_duration_seconds",
	Help:    "Time from an order's creation to its saga's terminal state, by outcome (the state).",
	Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 600},
}, []string{"outcome"})

// onOrderCreated takes the stock of every item, or none: StockDecreased or StockDecreaseFailed.
func (s *Service) onOrderCreated(ctx context.Context, m consumer.Message, e events.OrderEvent) error {
	err := s.step(ctx, m, e.Order.ID, inputStockTaken, func(q Queries, o *order) ([]outbox.Event, string, error) {
		out := make([]outbox.Event, 0, len(o.items))
		for _, it := range o.items {
			n, err := q.DecreaseStock(ctx, storedb.DecreaseStockParams{Amount: it.Quantity, ProductID: it.ProductID})
			if err != nil {
				return nil, "", fmt.Errorf("decrease stock of product %d: %w", it.ProductID, err)
			}
			if n == 0 {
				return nil, "", errs.Errorf(errInsufficientStock, "not enough stock of product %d for %d units", it.ProductID, it.Quantity)
			}
			c, err := stockChanged(ctx, q, it.ProductID)
			if err != nil {
				return nil, "", err
			}
			out = append(out, c.event)
		}
		o.StockTaken = true
		return out, "", nil
	})
	if !errors.Is(err, errInsufficientStock) {
		return err
	}
	reason := err.Error()
	return s.step(ctx, m, e.Order.ID, inputStockShort, func(_ Queries, o *order) ([]outbox.Event, string, error) {
		o.fail(reason)
		return nil, "", nil
	})
}

// cancel ends the saga of an order whose step failed and was compensated: OrderCancelled.
func (s *Service) cancel(ctx context.Context, m consumer.Message, e events.OrderEvent) error {
	return s.step(ctx, m, e.Order.ID, m.Type, nil)
}

// onPaymentCreated records the payment link and completes the saga, when
// the payment is the one this order asked for: caused by the order's own
// StockDecreased, for the order's total. Any other is ignored and reported.
func (s *Service) onPaymentCreated(ctx context.Context, m consumer.Message, p events.PaymentEvent) error {
	return s.paymentStep(ctx, m, p, createdMismatch, func(q Queries, o *order) ([]outbox.Event, string, error) {
		o.PaymentID = sql.NullInt64{Int64: p.PaymentID, Valid: true}
		o.PaymentLink = sql.NullString{String: p.PaymentLink, Valid: true}
		o.Status = StatusCompleted
		return nil, "", o.note(ctx, q, events.PaymentCreated, "payment "+strconv.FormatInt(p.PaymentID, 10), now())
	})
}

// onPaymentCreationFailed compensates the stock step: StockIncreased.
func (s *Service) onPaymentCreationFailed(ctx context.Context, m consumer.Message, p events.PaymentEvent) error {
	return s.step(ctx, m, p.OrderID, m.Type, func(q Queries, o *order) ([]outbox.Event, string, error) {
		o.fail("payment creation failed: " + p.Reason)
		o.Status = StatusPaymentCreationFailed
		if err := o.note(ctx, q, events.PaymentCreationFailed, o.FailureReason.String, now()); err != nil {
			return nil, "", err
		}
		if !o.StockTaken {
			return nil, "", nil
		}
		o.StockTaken = false
		out, err := returnStock(ctx, q, o.items)
		return out, "", err
	})
}

// onPaymentProcessed marks the order paid, when the payment is the order's
// own and the order is live.
func (s *Service) onPaymentProcessed(ctx context.Context, m consumer.Message, p events.PaymentEvent) error {
	return s.paymentStep(ctx, m, p, processedMismatch, func(_ Queries, o *order) ([]outbox.Event, string, error) {
		o.IsPaid = true
		return nil, "payment " + strconv.FormatInt(p.PaymentID, 10), nil
	})
}

// onOrderCreationFailed closes the saga of an order that could not start.
func (s *Service) onOrderCreationFailed(ctx context.Context, m consumer.Message, e events.OrderEvent) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, e.Order.ID)
		if !ok || err != nil {
			return nil, err
		}
		step, err := o.advance(ctx, q, events.SagaCompleted, "with error", e.Reason)
		return []outbox.Event{step}, err
	})
}

// paymentStep runs a step for an event of the payments service exactly once:
// it locks the event's order and moves it only when the state machine and
// mismatch find nothing wrong with the event for this order; otherwise the
// event is ignored, logged as a warning with its id, and counted.
func (s *Service) paymentStep(ctx context.Context, m consumer.Message, p events.PaymentEvent,
	mismatch func(*order, events.PaymentEvent) string, fn applyFn) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, p.OrderID)
		if err != nil {
			return nil, err
		}
		why := "the order does not exist"
		var t transition
		if ok {
			if t, ok = move(o.Status, m.Type); !ok {
				why = "the order is " + o.Status + ", which this event does not move"
			} else {
				why = mismatch(o, p)
			}
		}
		if why != "" {
			s.ignore(ctx, m, p.OrderID, why)
			return nil, nil
		}
		return apply(ctx, q, o, t, fn)
	})
}

// ignore reports a saga event that the store refuses to apply.
func (s *Service) ignore(ctx context.Context, m consumer.Message, orderID int64, why string) {
	slog.WarnContext(ctx, "saga event ignored", "event_id", m.ID, "type", m.Type, "order_id", orderID, "reason", why)
	IgnoredEvents.WithLabelValues(m.Type).Inc()
}

// IgnoredEvents counts the saga events the store refused to apply, by type.
var IgnoredEvents = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "store_saga_events_ignored_total",
	Help: "Saga events the store refused to apply because they do not match their order.",
}, []string{"type"})

// createdMismatch says what is wrong with a PaymentCreated for order o, or "".
func createdMismatch(o *order, p events.PaymentEvent) string {
	switch {
	case !o.StockEventID.Valid || p.CausedBy != o.StockEventID.String:
		return "the payment was not created for the order's StockDecreased event"
	case p.PaymentID < 1:
		return "the event names no payment"
	case !sameAmount(p.TotalAmount, o.TotalAmount):
		return "the payment's amount " + p.TotalAmount + " is not the order's total " + o.TotalAmount
	}
	return ""
}

// processedMismatch says what is wrong with a PaymentProcessed for order o, or "".
func processedMismatch(o *order, p events.PaymentEvent) string {
	switch {
	case !o.PaymentID.Valid || o.PaymentID.Int64 != p.PaymentID:
		return "the payment is not the order's own"
	case o.IsPaid:
		return "the order is paid already"
	case !sameAmount(p.TotalAmount, o.TotalAmount):
		return "the payment's amount " + p.TotalAmount + " is not the order's total " + o.TotalAmount
	}
	return ""
}

// sameAmount reports whether two decimal amounts are equal to the cent.
func sameAmount(a, b string) bool {
	x, errA := money.Parse(a)
	y, errB := money.Parse(b)
	return errA == nil && errB == nil && x == y
}

// DeadLetter flags the order of a saga event that kept failing, so it is
// seen rather than silently dropped: NeedsAttention, with the error. An
// OrderCreated that could not be processed becomes OrderCreationFailed.
func (s *Service) DeadLetter(ctx context.Context, m consumer.Message, cause error) error {
	orderID, err := strconv.ParseInt(m.Key, 10, 64)
	if err != nil {
		return nil // not an order's event: the dead-letter topic keeps it
	}
	return s.exec(ctx, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, orderID)
		if !ok || err != nil {
			return nil, err
		}
		o.fail(fmt.Sprintf("%s event %s failed: %v", m.Type, m.ID, cause))
		t, _ := move(o.Status, inputDeadLetter)
		if m.Type == events.OrderCreated {
			t.announce = events.OrderCreationFailed
		}
		return apply(ctx, q, o, t, nil)
	})
}

// ExpireSagas cancels, every interval until ctx ends, the orders whose saga
// has not ended deadline after their creation: the stock the saga took is
// returned and the order becomes Cancelled, "timed out", with the step in
// its history. OrderCancelled voids a payment created meanwhile, and events
// that arrive later find a cancelled order and change nothing. Every replica
// may run it: each order is expired under its row lock, once.
func (s *Service) ExpireSagas(ctx context.Context, deadline, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := s.expireOverdue(ctx, deadline); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "expire sagas", "err", err)
		}
	}
}

// expireOverdue cancels the orders past the deadline now.
func (s *Service) expireOverdue(ctx context.Context, deadline time.Duration) error {
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
			t, ok := move(o.Status, inputDeadline)
			if !ok {
				return nil, nil // it ended meanwhile
			}
			expired = true
			return apply(ctx, q, o, t, func(q Queries, o *order) ([]outbox.Event, string, error) {
				o.fail("timed out: the saga did not end within " + deadline.String())
				if !o.StockTaken {
					return nil, "", nil
				}
				o.StockTaken = false
				out, err := returnStock(ctx, q, o.items)
				return out, "", err
			})
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
