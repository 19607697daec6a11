// Package graphql is the suppliers' GraphQL API (gqlgen): products, stock
// levels, sales, low-stock lists, restocks (idempotent by key) and their
// history, and stock changes pushed by subscription, read from the Redis read
// models and the store database through the store service.
package graphql

import (
	"context"

	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
)

// StockFeed delivers the stock changes the projector applies.
type StockFeed interface {
	Subscribe(ctx context.Context, owner string, want func(readmodel.StockChange) bool) (<-chan readmodel.StockChange, error)
}

// Resolver is the wiring point: every resolver reaches the store, and every
// subscription the stock feed, through it.
type Resolver struct {
	Store *store.Service
	Feed  StockFeed
}
