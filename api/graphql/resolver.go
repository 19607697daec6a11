// Package graphql is the suppliers' GraphQL API (gqlgen): products, stock
// levels, low-stock lists and the restock mutation, read from the Redis read
// models through the store service.
package graphql

import "github.com/store-manager/store-manager/services/store"

// Resolver is the wiring point: every resolver reaches the store through it.
type Resolver struct {
	Store *store.Service
}
