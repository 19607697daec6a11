package store

import (
	"context"
	"database/sql"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// Queries are the store database's generated queries, bound to a transaction or not.
type Queries = *storedb.Queries

// DB is the store database: its prepared queries, and the platform's outbox and inbox.
type DB = txn.DB[Queries]

// Prepare prepares every store query, and the outbox's, once on db.
func Prepare(ctx context.Context, db *sql.DB) (*DB, error) {
	return txn.Prepare(ctx, db, func(ctx context.Context, db *sql.DB) (Queries, error) { return storedb.Prepare(ctx, db) })
}
