package readmodel

import (
	"context"

	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
)

// ProjectorTopics are the topics the projector consumes.
var ProjectorTopics = []string{events.TopicProducts, events.TopicStocks, events.TopicOrders}

// Register adds the projector's handlers to reg: product and stock events
// by type, and every event on the orders topic, which all carry a snapshot.
func (s *Store) Register(reg *consumer.Registry) {
	reg.Handle(events.ProductCreated, func(ctx context.Context, m consumer.Message) error {
		var p events.Product
		if err := m.DecodePayload(&p); err != nil {
			return err
		}
		return s.PutProduct(ctx, p)
	})
	reg.Handle(events.ProductDeleted, func(ctx context.Context, m consumer.Message) error {
		var p events.Product
		if err := m.DecodePayload(&p); err != nil {
			return err
		}
		return s.DeleteProduct(ctx, p.ID)
	})
	reg.Handle(events.StockUpdated, func(ctx context.Context, m consumer.Message) error {
		var st events.Stock
		if err := m.DecodePayload(&st); err != nil {
			return err
		}
		return s.PutStock(ctx, st)
	})
	reg.HandleTopic(events.TopicOrders, func(ctx context.Context, m consumer.Message) error {
		var e events.OrderEvent
		if err := m.DecodePayload(&e); err != nil {
			return err
		}
		if e.Order.ID == 0 {
			return nil // an order event without a snapshot has nothing to project
		}
		return s.PutOrder(ctx, e.Order)
	})
}
