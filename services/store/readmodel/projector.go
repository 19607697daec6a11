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
	consumer.Handle(reg, events.ProductCreated, func(ctx context.Context, _ consumer.Message, p events.Product) error {
		return s.PutProduct(ctx, p)
	})
	consumer.Handle(reg, events.ProductDeleted, func(ctx context.Context, _ consumer.Message, p events.Product) error {
		return s.DeleteProduct(ctx, p.ID)
	})
	consumer.Handle(reg, events.StockUpdated, func(ctx context.Context, _ consumer.Message, st events.Stock) error {
		return s.PutStock(ctx, st)
	})
	consumer.HandleTopic(reg, events.TopicOrders, func(ctx context.Context, _ consumer.Message, e events.OrderEvent) error {
		if e.Order.ID == 0 {
			return nil // an order event without a snapshot has nothing to project
		}
		return s.PutOrder(ctx, e.Order)
	})
}
