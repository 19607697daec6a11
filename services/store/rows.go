package store

import (
	"context"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// The store's statements of as many rows as a command has: sqlc compiles a
// fixed number of rows per statement. Their columns are those of the
// tables in sql/store.
const (
	insertSteps  = "INSERT INTO order_steps (order_id, event, status, detail, created_at) VALUES "
	insertItems  = "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES "
	insertOrders = "INSERT INTO orders (user_id, total_amount, status, created_at, updated_at, trace_id) VALUES "
)

// CreateOrderSteps appends steps to their orders' histories, in one statement.
func (q Queries) CreateOrderSteps(ctx context.Context, steps []storedb.OrderStep) error {
	if len(steps) == 0 {
		return nil
	}
	args := make([]any, 0, 5*len(steps))
	for _, st := range steps {
		args = append(args, st.OrderID, st.Event, st.Status, st.Detail, st.CreatedAt)
	}
	_, err := txn.InsertRows(ctx, q.db, insertSteps, 5, args)
	return err
}
