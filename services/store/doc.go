// Package store is the store-manager's business logic: users, products,
// stock and orders. Each use case is a method of Service; commands write their
// state and outbox events in one transaction, queries read the read models.
package store
