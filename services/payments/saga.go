package payments

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	"github.com/store-manager/store-manager/services/consumer"
	"github.com/store-manager/store-manager/services/events"
	"github.com/store-manager/store-manager/services/outbox"
	"github.com/store-manager/store-manager/services/txn"
)

// SagaConsumer names the payments saga consumer group and its processed_events rows.
const SagaConsumer = "payments-saga"

// SagaTopics are the topics the payments saga handlers consume.
var SagaTopics = []string{events.TopicOrders}

// RegisterSaga adds the payments step of the order saga to reg.
func (s *Service) RegisterSaga(reg *consumer.Registry) {
	reg.Handle(events.StockDecreased, s.onStockDecreased)
}

// onStockDecreased creates the order's payment: PaymentCreated with its link,
// or PaymentCreationFailed when the payment cannot be accepted.
func (s *Service) onStockDecreased(ctx context.Context, m consumer.Message) error {
	var e events.OrderEvent
	if err := m.DecodePayload(&e); err != nil {
		return err
	}
	if e.Order.ID == 0 {
		return consumer.Permanent(fmt.Errorf("%s %s carries no order", m.Type, m.ID))
	}
	o := e.Order
	return txn.ExecOnce(ctx, s.db, s.q.Bind, SagaConsumer, m.ID, func(q Queries) ([]outbox.Event, error) {
		amount, err := s.checkAmount(o.TotalAmount)
		if err != nil {
			return paymentEvent(events.PaymentCreationFailed, events.PaymentEvent{
				OrderID: o.ID, UserID: o.UserID, TotalAmount: o.TotalAmount, Reason: err.Error(),
			})
		}
		id, err := q.CreatePayment(ctx, paymentsdb.CreatePaymentParams{OrderID: o.ID, UserID: o.UserID, TotalAmount: amount.String()})
		if isDuplicate(err) {
			// The order already has a payment (created through the API): announce that one.
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
			OrderID: o.ID, PaymentID: id, UserID: o.UserID, TotalAmount: amount.String(), PaymentLink: s.Link(id),
		})
	})
}

// errNotAnOrder is returned for dead-lettered events whose key is no order id.
var errNotAnOrder = errors.New("event key is not an order id")

// DeadLetter announces PaymentCreationFailed for an order whose payment step
// kept failing, so the store compensates instead of waiting forever.
func (s *Service) DeadLetter(ctx context.Context, m consumer.Message, cause error) error {
	orderID, err := strconv.ParseInt(m.Key, 10, 64)
	if err != nil {
		return errNotAnOrder
	}
	return txn.Exec(ctx, s.db, s.q.Bind, func(Queries) ([]outbox.Event, error) {
		return paymentEvent(events.PaymentCreationFailed, events.PaymentEvent{OrderID: orderID, Reason: "payment step failed: " + cause.Error()})
	})
}
