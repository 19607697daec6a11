package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"

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
// the event as processed.
func (s *Service) RegisterSaga(reg *consumer.Registry) {
	reg.Handle(events.OrderCreated, s.onOrderCreated)
	reg.Handle(events.StockDecreaseFailed, s.cancelOrder(StatusStockDecreaseFailed))
	reg.Handle(events.PaymentCreated, s.onPaymentCreated)
	reg.Handle(events.PaymentCreationFailed, s.onPaymentCreationFailed)
	reg.Handle(events.StockIncreased, s.cancelOrder(StatusStockIncreased))
	reg.Handle(events.PaymentProcessed, s.onPaymentProcessed)
	reg.Handle(events.OrderCreationFailed, s.onOrderCreationFailed)
}

// errInsufficientStock aborts the stock step's transaction, undoing the
// items already taken, so the step is all-or-nothing.
var errInsufficientStock = errors.New("insufficient stock")

// step runs a saga step exactly once per event, in one transaction: it locks
// the event's order and applies fn when the order is in a state the step
// applies to. A deleted order, or one in another state, leaves nothing to do.
func (s *Service) step(ctx context.Context, m consumer.Message, orderID int64, applies func(storedb.Order) bool,
	fn func(q Queries, o storedb.Order) ([]outbox.Event, error)) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, orderID)
		if !ok || err != nil || !applies(o) {
			return nil, err
		}
		return fn(q, o)
	})
}

// inStatus applies a step to orders in one saga state.
func inStatus(status string) func(storedb.Order) bool {
	return func(o storedb.Order) bool { return o.Status == status }
}

func anyOrder(storedb.Order) bool { return true }

// lockOrder locks the order of a saga event. A deleted order is not an
// error: the event has nothing left to do.
func lockOrder(ctx context.Context, q Queries, id int64) (storedb.Order, bool, error) {
	o, err := q.GetOrderForUpdate(ctx, id)
	if errors.Is(err, sql.ErrNoRows) {
		return storedb.Order{}, false, nil
	}
	if err != nil {
		return storedb.Order{}, false, fmt.Errorf("lock order %d: %w", id, err)
	}
	return o, true, nil
}

func setStatus(ctx context.Context, q Queries, o storedb.Order, status string, stockTaken bool, reason string) error {
	r := o.FailureReason
	if reason != "" {
		r = sql.NullString{String: truncate(reason, 512), Valid: true}
	}
	_, err := q.UpdateOrderStatus(ctx, storedb.UpdateOrderStatusParams{Status: status, StockTaken: stockTaken, FailureReason: r, ID: o.ID})
	if err != nil {
		return fmt.Errorf("set order %d to %s: %w", o.ID, status, err)
	}
	return nil
}

// truncate keeps the first n characters of s, for VARCHAR(n) columns.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// onOrderCreated takes the stock of every item, or none: StockDecreased or StockDecreaseFailed.
func (s *Service) onOrderCreated(ctx context.Context, m consumer.Message) error {
	var e events.OrderEvent
	if err := m.DecodePayload(&e); err != nil {
		return err
	}
	err := s.step(ctx, m, e.Order.ID, inStatus(StatusCreated), func(q Queries, o storedb.Order) ([]outbox.Event, error) {
		items, err := q.ListOrderItems(ctx, o.ID)
		if err != nil {
			return nil, fmt.Errorf("list items of order %d: %w", o.ID, err)
		}
		out := make([]outbox.Event, 0, len(items)+1)
		for _, it := range items {
			n, err := q.DecreaseStock(ctx, storedb.DecreaseStockParams{Amount: it.Quantity, ProductID: it.ProductID})
			if err != nil {
				return nil, fmt.Errorf("decrease stock of product %d: %w", it.ProductID, err)
			}
			if n == 0 {
				return nil, errs.Errorf(errInsufficientStock, "not enough stock of product %d for %d units", it.ProductID, it.Quantity)
			}
			c, err := stockChanged(ctx, q, it.ProductID)
			if err != nil {
				return nil, err
			}
			out = append(out, c.event)
		}
		if err := setStatus(ctx, q, o, StatusStockDecreased, true, ""); err != nil {
			return nil, err
		}
		step, err := recordStep(ctx, q, o.ID, events.StockDecreased, StatusStockDecreased, "", "")
		if err != nil {
			return nil, err
		}
		// The order now awaits the payment announced for this very event.
		if _, err := q.SetOrderStockEvent(ctx, storedb.SetOrderStockEventParams{
			StockEventID: sql.NullString{String: step.ID, Valid: true}, ID: o.ID,
		}); err != nil {
			return nil, fmt.Errorf("record the stock event of order %d: %w", o.ID, err)
		}
		return append(out, step), nil
	})
	if !errors.Is(err, errInsufficientStock) {
		return err
	}
	reason := err.Error()
	return s.step(ctx, m, e.Order.ID, inStatus(StatusCreated), func(q Queries, o storedb.Order) ([]outbox.Event, error) {
		if err := setStatus(ctx, q, o, StatusStockDecreaseFailed, false, reason); err != nil {
			return nil, err
		}
		step, err := recordStep(ctx, q, o.ID, events.StockDecreaseFailed, StatusStockDecreaseFailed, reason, reason)
		return []outbox.Event{step}, err
	})
}

// cancelOrder ends the saga of an order in the from state with OrderCancelled.
func (s *Service) cancelOrder(from string) consumer.Handler {
	return func(ctx context.Context, m consumer.Message) error {
		var e events.OrderEvent
		if err := m.DecodePayload(&e); err != nil {
			return err
		}
		return s.step(ctx, m, e.Order.ID, inStatus(from), func(q Queries, o storedb.Order) ([]outbox.Event, error) {
			if err := setStatus(ctx, q, o, StatusCancelled, o.StockTaken, ""); err != nil {
				return nil, err
			}
			step, err := recordStep(ctx, q, o.ID, events.OrderCancelled, StatusCancelled, o.FailureReason.String, o.FailureReason.String)
			return []outbox.Event{step}, err
		})
	}
}

// onPaymentCreated records the payment link and completes the saga, when
// the payment is the one this order asked for: caused by the order's own
// StockDecreased, for the order's total. Any other is ignored and reported.
func (s *Service) onPaymentCreated(ctx context.Context, m consumer.Message) error {
	var p events.PaymentEvent
	if err := m.DecodePayload(&p); err != nil {
		return err
	}
	return s.paymentStep(ctx, m, p, createdMismatch, func(q Queries, o storedb.Order) ([]outbox.Event, error) {
		_, err := q.UpdateOrderPaymentLink(ctx, storedb.UpdateOrderPaymentLinkParams{
			Status:      StatusCompleted,
			PaymentID:   sql.NullInt64{Int64: p.PaymentID, Valid: true},
			PaymentLink: sql.NullString{String: p.PaymentLink, Valid: true},
			ID:          o.ID,
		})
		if err != nil {
			return nil, fmt.Errorf("record payment of order %d: %w", o.ID, err)
		}
		if err := addStep(ctx, q, o.ID, events.PaymentCreated, StatusCompleted, "payment "+strconv.FormatInt(p.PaymentID, 10)); err != nil {
			return nil, err
		}
		step, err := recordStep(ctx, q, o.ID, events.SagaCompleted, StatusCompleted, "", "")
		return []outbox.Event{step}, err
	})
}

// paymentStep runs a step for an event of the payments service exactly once:
// it locks the event's order and applies fn only when mismatch finds nothing
// wrong with the event for this order; otherwise the event is ignored,
// logged as a warning with its id, and counted.
func (s *Service) paymentStep(ctx context.Context, m consumer.Message, p events.PaymentEvent,
	mismatch func(storedb.Order, events.PaymentEvent) string, fn func(q Queries, o storedb.Order) ([]outbox.Event, error)) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q Queries) ([]outbox.Event, error) {
		o, ok, err := lockOrder(ctx, q, p.OrderID)
		if err != nil {
			return nil, err
		}
		why := "the order does not exist"
		if ok {
			why = mismatch(o, p)
		}
		if why != "" {
			s.ignore(ctx, m, p.OrderID, why)
			return nil, nil
		}
		return fn(q, o)
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
func createdMismatch(o storedb.Order, p events.PaymentEvent) string {
	switch {
	case o.Status != StatusStockDecreased:
		return "the order is " + o.Status + ", not awaiting a payment"
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
func processedMismatch(o storedb.Order, p events.PaymentEvent) string {
	switch {
	case !o.PaymentID.Valid || o.PaymentID.Int64 != p.PaymentID:
		return "the payment is not the order's own"
	case o.Status != StatusCompleted:
		return "the order is " + o.Status + ", not live"
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

// onPaymentCreationFailed compensates the stock step: StockIncreased.
func (s *Service) onPaymentCreationFailed(ctx context.Context, m consumer.Message) error {
	var p events.PaymentEvent
	if err := m.DecodePayload(&p); err != nil {
		return err
	}
	return s.step(ctx, m, p.OrderID, inStatus(StatusStockDecreased), func(q Queries, o storedb.Order) ([]outbox.Event, error) {
		reason := "payment creation failed: " + p.Reason
		if err := addStep(ctx, q, o.ID, events.PaymentCreationFailed, StatusPaymentCreationFailed, reason); err != nil {
			return nil, err
		}
		var out []outbox.Event
		if o.StockTaken {
			var err error
			if out, err = returnStock(ctx, q, o.ID); err != nil {
				return nil, err
			}
		}
		if err := setStatus(ctx, q, o, StatusStockIncreased, false, reason); err != nil {
			return nil, err
		}
		step, err := recordStep(ctx, q, o.ID, events.StockIncreased, StatusStockIncreased, reason, reason)
		return append(out, step), err
	})
}

// onPaymentProcessed marks the order paid, when the payment is the order's
// own and the order is live.
func (s *Service) onPaymentProcessed(ctx context.Context, m consumer.Message) error {
	var p events.PaymentEvent
	if err := m.DecodePayload(&p); err != nil {
		return err
	}
	return s.paymentStep(ctx, m, p, processedMismatch, func(q Queries, o storedb.Order) ([]outbox.Event, error) {
		if _, err := q.MarkOrderPaid(ctx, o.ID); err != nil {
			return nil, fmt.Errorf("mark order %d paid: %w", o.ID, err)
		}
		step, err := recordStep(ctx, q, o.ID, events.OrderPaid, o.Status, "payment "+strconv.FormatInt(p.PaymentID, 10), "")
		return []outbox.Event{step}, err
	})
}

// onOrderCreationFailed closes the saga of an order that could not start.
func (s *Service) onOrderCreationFailed(ctx context.Context, m consumer.Message) error {
	var e events.OrderEvent
	if err := m.DecodePayload(&e); err != nil {
		return err
	}
	return s.step(ctx, m, e.Order.ID, anyOrder, func(q Queries, o storedb.Order) ([]outbox.Event, error) {
		step, err := recordStep(ctx, q, o.ID, events.SagaCompleted, o.Status, "with error", e.Reason)
		return []outbox.Event{step}, err
	})
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
		reason := fmt.Sprintf("%s event %s failed: %v", m.Type, m.ID, cause)
		if err := setStatus(ctx, q, o, StatusNeedsAttention, o.StockTaken, reason); err != nil {
			return nil, err
		}
		typ := events.OrderNeedsAttention
		if m.Type == events.OrderCreated {
			typ = events.OrderCreationFailed
		}
		step, err := recordStep(ctx, q, o.ID, typ, StatusNeedsAttention, reason, reason)
		return []outbox.Event{step}, err
	})
}
