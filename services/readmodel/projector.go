package readmodel

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/store-manager/store-manager/services/consumer"
	"github.com/store-manager/store-manager/services/events"
)

// ProjectorTopics are the topics the projector consumes.
var ProjectorTopics = []string{events.TopicProducts, events.TopicStocks, events.TopicOrders}

// Register adds the projector's handlers to reg: product and stock events
// by type, and every event on the orders topic, which all carry a snapshot.
func (s *Store) Register(reg *consumer.Registry) {
	reg.Handle(events.ProductCreated, func(ctx context.Context, m consumer.Message) error {
		var p events.Product
		if err := decode(m, &p); err != nil {
			return err
		}
		return s.PutProduct(ctx, p)
	})
	reg.Handle(events.ProductDeleted, func(ctx context.Context, m consumer.Message) error {
		var p events.Product
		if err := decode(m, &p); err != nil {
			return err
		}
		return s.DeleteProduct(ctx, p.ID)
	})
	reg.Handle(events.StockUpdated, func(ctx context.Context, m consumer.Message) error {
		var st events.Stock
		if err := decode(m, &st); err != nil {
			return err
		}
		return s.PutStock(ctx, st)
	})
	reg.HandleTopic(events.TopicOrders, func(ctx context.Context, m consumer.Message) error {
		var e events.OrderEvent
		if err := decode(m, &e); err != nil {
			return err
		}
		if e.Order.ID == 0 {
			return nil // an order event without a snapshot has nothing to project
		}
		return s.PutOrder(ctx, e.Order)
	})
}

func decode(m consumer.Message, v any) error {
	if err := json.Unmarshal(m.Payload, v); err != nil {
		return consumer.Permanent(fmt.Errorf("decode %s %s: %w", m.Type, m.ID, err))
	}
	return nil
}
