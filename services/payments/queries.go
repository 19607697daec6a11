package payments

import (
	"context"
	"database/sql"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// Queries are the payments database's generated queries, bound to a transaction or not.
type Queries = *paymentsdb.Queries

// DB is the payments database: its prepared queries, and the platform's outbox and inbox.
type DB = txn.DB[Queries]

// Prepare prepares every payments query, and the outbox's, once on db.
func Prepare(ctx context.Context, db *sql.DB) (*DB, error) {
	return txn.Prepare(ctx, db, func(ctx context.Context, db *sql.DB) (Queries, error) { return paymentsdb.Prepare(ctx, db) })
}
