package store

import "github.com/store-manager/store-manager/services/platform/events"

// Product is a product with its stock, as the read side serves it.
type Product struct {
	events.Product
	Quantity     int32
	StockVersion int64
}

// Presence tells whether the read side knows an entity.
type Presence int

// The read side has an entity, has never seen it, or saw it deleted.
const (
	Missing Presence = iota
	Present
	Deleted
)
