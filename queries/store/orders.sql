-- New orders are written in groups, as many rows per statement as the group
-- has (services/store/rows.go): sqlc compiles a fixed row count.

-- name: GetOrder :one
SELECT * FROM orders WHERE id = ?;

-- name: GetOrderForUpdate :one
SELECT * FROM orders WHERE id = ? FOR UPDATE;

-- name: GetOrderForStep :one
-- An order locked for a saga step, with its items and its history as JSON
-- arrays: one round trip instead of three on the saga's hottest path. The
-- arrays come in no set order (sqlc parses no ORDER BY inside JSON_ARRAYAGG).
SELECT sqlc.embed(orders),
    (SELECT JSON_ARRAYAGG(JSON_OBJECT('id', i.id, 'product_id', i.product_id, 'quantity', i.quantity,
            'unit_price', i.unit_price))
     FROM order_items i WHERE i.order_id = orders.id) AS items,
    (SELECT JSON_ARRAYAGG(JSON_OBJECT('id', s.id, 'event', s.event, 'status', s.status, 'detail', s.detail,
            'created_at', s.created_at))
     FROM order_steps s WHERE s.order_id = orders.id) AS steps
FROM orders WHERE orders.id = ? FOR UPDATE;

-- name: ListOrders :many
SELECT * FROM orders WHERE id > ? ORDER BY id LIMIT ?;

-- name: DeleteOrder :execrows
DELETE FROM orders WHERE id = ?;

-- name: ListHighestSpenders :many
-- Top spenders over orders that were not cancelled, nor are being cancelled or deleted.
SELECT o.user_id, u.name, CAST(SUM(o.total_amount) AS DECIMAL(14,2)) AS total_expense
FROM orders o JOIN users u ON u.id = o.user_id
WHERE o.status NOT IN ('Cancelled', 'Cancelling', 'Deleting')
GROUP BY o.user_id, u.name
ORDER BY total_expense DESC, o.user_id
LIMIT ?;

-- name: SaveOrder :execrows
-- Writes the state a saga step left an order in, with its next version; the
-- step holds the order's row lock. stock_event_id is the event whose answer
-- from payments the order awaits: its StockDecreased (the payment), then its
-- OrderCancelling or OrderDeleting (the void or the refund).
UPDATE orders
SET status = ?, payment_id = ?, payment_link = ?, is_paid = ?, stock_taken = ?, failure_reason = ?,
    stock_event_id = ?, version = ?, updated_at = ?
WHERE id = ?;

-- name: CountOrdersByStatus :many
-- Sagas by state, for operators.
SELECT status, COUNT(*) AS orders FROM orders GROUP BY status ORDER BY status;

-- name: GetOldestUnfinishedOrder :one
-- The order whose saga has waited longest for a terminal state.
SELECT id, created_at FROM orders
WHERE status NOT IN ('Completed', 'Cancelled', 'NeedsAttention')
ORDER BY created_at, id LIMIT 1;

-- name: ListOverdueOrders :many
-- Orders whose saga has not ended and that were created before a time.
SELECT id FROM orders
WHERE status IN ('Created', 'StockDecreased', 'StockDecreaseFailed', 'PaymentCreationFailed', 'StockIncreased')
  AND created_at < sqlc.arg(before)
ORDER BY created_at LIMIT ?;

-- name: CountOrdersByStatusSince :many
-- Sagas by state among the orders created since a time, for the console.
SELECT status, COUNT(*) AS orders FROM orders WHERE created_at >= ? GROUP BY status ORDER BY status;

-- name: ListUnfinishedOrders :many
-- The orders whose saga has waited longest for a terminal state, oldest first.
SELECT id FROM orders
WHERE status NOT IN ('Completed', 'Cancelled', 'NeedsAttention')
ORDER BY created_at, id LIMIT ?;

-- name: ListLatestOrders :many
-- The newest orders, newest first.
SELECT id FROM orders ORDER BY id DESC LIMIT ?;

-- name: ListOrderMoneyAfter :many
-- A page of orders' money in id order, after an id, for reconciliation.
SELECT id, total_amount, status, payment_id, is_paid, updated_at FROM orders
WHERE id > ? ORDER BY id LIMIT ?;

-- name: CountOpenOrders :one
-- Orders created since a time whose saga has not ended: the store's backlog,
-- which bounds the orders it accepts. Each status is a range of
-- orders_status_created_idx.
SELECT COUNT(*) FROM orders
WHERE status IN ('Created', 'StockDecreased', 'StockDecreaseFailed', 'PaymentCreationFailed', 'StockIncreased', 'Cancelling', 'Deleting')
  AND created_at >= ?;
