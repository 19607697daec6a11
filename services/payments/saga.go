package payments

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// SagaConsumer names the payments saga consumer group and its processed_events rows.
const SagaConsumer = events.GroupPaymentsSaga

// SagaTopics are the topics the payments saga handlers consume.
var SagaTopics = []string{events.TopicOrders}

// RegisterSaga adds the payments step of the order saga to reg, and the
// events by which payments learns of the orders it may charge.
func (s *Service) RegisterSaga(reg *consumer.Registry) {
	consumer.Handle(reg, events.OrderCreated, withOrder(s.onOrderCreated))
	consumer.Handle(reg, events.StockDecreased, withOrder(s.onStockDecreased))
	consumer.Handle(reg, events.OrderCancelling, withOrder(s.settleOrder))
	consumer.Handle(reg, events.OrderDeleting, withOrder(s.settleOrder))
	consumer.Handle(reg, events.OrderCancelled, withOrder(s.voidOrder))
	consumer.Handle(reg, events.OrderDeleted, withOrder(s.voidOrder))
}

// withOrder hands h the order an orders-topic event carries; an event
// without one is a permanent failure.
func withOrder(h func(ctx context.Context, m consumer.Message, o events.Order) error) func(context.Context, consumer.Message, events.OrderEvent) error {
	return func(ctx context.Context, m consumer.Message, e events.OrderEvent) error {
		if e.Order.ID == 0 {
			return consumer.Permanent(fmt.Errorf("%s %s carries no order", m.Type, m.ID))
		}
		return h(ctx, m, e.Order)
	}
}

// onOrderCreated records the order and its total: the one amount a payment
// of this order may have. Recording it twice changes nothing, so it needs
// no inbox record; it joins the batch's transaction (and commit) the
// consumer runs it in.
func (s *Service) onOrderCreated(ctx context.Context, _ consumer.Message, o events.Order) error {
	return s.db.Exec(ctx, func(q *paymentsdb.Queries) ([]outbox.Event, error) {
		err := q.CreateOrder(ctx, paymentsdb.CreateOrderParams{ID: o.ID, UserID: o.UserID, TotalAmount: o.TotalAmount})
		if err != nil {
			return nil, fmt.Errorf("record order %d: %w", o.ID, err)
		}
		return nil, nil
	})
}

// onStockDecreased creates the order's payment for the order's total, and
// announces it as caused by this event: PaymentCreated with its link, or
// PaymentCreationFailed when the payment cannot be accepted.
func (s *Service) onStockDecreased(ctx context.Context, m consumer.Message, o events.Order) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q *paymentsdb.Queries) ([]outbox.Event, error) {
		amount, err := s.checkAmount(o.TotalAmount)
		if err != nil {
			return paymentEvent(events.PaymentCreationFailed, events.PaymentEvent{
				OrderID: o.ID, UserID: o.UserID, TotalAmount: o.TotalAmount, Reason: err.Error(), CausedBy: m.ID,
			})
		}
		err = q.CreateOrder(ctx, paymentsdb.CreateOrderParams{ID: o.ID, UserID: o.UserID, TotalAmount: amount.String()})
		if err != nil {
			return nil, fmt.Errorf("record order %d: %w", o.ID, err)
		}
		id, err := q.CreatePayment(ctx, paymentsdb.CreatePaymentParams{OrderID: o.ID, UserID: o.UserID, TotalAmount: amount.String()})
		if txn.MySQLError(err, txn.DuplicateKey) {
			// A trusted service created it through the API, for this same total: announce that one.
			p, gerr := q.GetPaymentByOrder(ctx, o.ID)
			if gerr != nil {
				return nil, fmt.Errorf("get payment of order %d: %w", o.ID, gerr)
			}
			id, err = p.ID, nil
		}
		if err != nil {
			return nil, fmt.Errorf("create payment of order %d: %w", o.ID, err)
		}
		return paymentEvent(events.PaymentCreated, events.PaymentEvent{
			OrderID: o.ID, PaymentID: id, UserID: o.UserID, TotalAmount: amount.String(), PaymentLink: s.Link(id), CausedBy: m.ID,
		})
	})
}

// settleOrder answers an order that is being cancelled or deleted, which
// waits for this answer before it ends (endOrder): PaymentVoided, naming no
// payment when there is none, or PaymentRefunded. Paying races with this
// step on the payment's row lock: the payment is paid first and then
// refunded, or voided first and then refused.
func (s *Service) settleOrder(ctx context.Context, m consumer.Message, o events.Order) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q *paymentsdb.Queries) ([]outbox.Event, error) {
		typ, answer, _, err := endOrder(ctx, q, m, o)
		if err != nil {
			return nil, err
		}
		return paymentEvent(typ, answer)
	})
}

// voidOrder records that an order ended cancelled or deleted (endOrder). An
// order that may have had a payment waited for settleOrder's answer first,
// so here there is normally nothing left to do and nothing is announced; a
// payment a trusted service created for an order the saga never asked a
// payment for is voided (PaymentVoided) or, paid, refunded
// (PaymentRefunded), which the store reports as an incident: its order
// ended without waiting for it.
func (s *Service) voidOrder(ctx context.Context, m consumer.Message, o events.Order) error {
	return s.db.ExecOnce(ctx, SagaConsumer, m.ID, func(q *paymentsdb.Queries) ([]outbox.Event, error) {
		typ, answer, changed, err := endOrder(ctx, q, m, o)
		if err != nil || !changed {
			return nil, err
		}
		return paymentEvent(typ, answer)
	})
}

// endOrder makes order o void, so no payment can be created for it any
// more, and settles its payment under the payment's row lock: an unpaid one
// is voided, a paid one refunded in full, once. It returns the answer to
// event m (PaymentVoided or PaymentRefunded, as the payment now is; voided
// naming no payment when there is none) and whether the payment changed
// just now.
func endOrder(ctx context.Context, q *paymentsdb.Queries, m consumer.Message, o events.Order) (typ string, answer events.PaymentEvent, changed bool, err error) {
	if err := q.VoidOrder(ctx, paymentsdb.VoidOrderParams{ID: o.ID, UserID: o.UserID, TotalAmount: orderTotal(o)}); err != nil {
		return "", answer, false, fmt.Errorf("void order %d: %w", o.ID, err)
	}
	answer = events.PaymentEvent{OrderID: o.ID, UserID: o.UserID, CausedBy: m.ID}
	p, err := q.GetPaymentByOrderForUpdate(ctx, o.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return events.PaymentVoided, answer, false, nil
	}
	if err != nil {
		return "", answer, false, fmt.Errorf("lock payment of order %d: %w", o.ID, err)
	}
	answer.PaymentID, answer.TotalAmount = p.ID, p.TotalAmount
	switch {
	case p.RefundedAt.Valid:
		return events.PaymentRefunded, answer, false, nil
	case p.VoidedAt.Valid:
		return events.PaymentVoided, answer, false, nil
	case p.IsPaid:
		if _, err := q.RefundPayment(ctx, p.ID); err != nil {
			return "", answer, false, fmt.Errorf("refund payment %d: %w", p.ID, err)
		}
		return events.PaymentRefunded, answer, true, nil
	}
	if _, err := q.VoidPayment(ctx, p.ID); err != nil {
		return "", answer, false, fmt.Errorf("void payment %d: %w", p.ID, err)
	}
	return events.PaymentVoided, answer, true, nil
}

// orderTotal is the total an order event carries; a tombstone carries none.
func orderTotal(o events.Order) string {
	if o.TotalAmount == "" {
		return "0"
	}
	return o.TotalAmount
}

// DeadLetter announces PaymentCreationFailed for an order whose payment step
// kept failing, so the store compensates instead of waiting forever.
func (s *Service) DeadLetter(ctx context.Context, m consumer.Message, cause error) error {
	orderID, err := strconv.ParseInt(m.Key, 10, 64)
	if err != nil {
		return nil // not an order's event: the dead-letter topic keeps it, as the store's hook does
	}
	return s.db.Exec(ctx, func(*paymentsdb.Queries) ([]outbox.Event, error) {
		return paymentEvent(events.PaymentCreationFailed, events.PaymentEvent{OrderID: orderID, Reason: "payment step failed: " + cause.Error()})
	})
}
