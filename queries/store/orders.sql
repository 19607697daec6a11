-- name: CreateOrder :execlastid
INSERT INTO orders (user_id, total_amount, status) VALUES (?, ?, ?);

-- name: GetOrder :one
SELECT * FROM orders WHERE id = ?;

-- name: GetOrderForUpdate :one
SELECT * FROM orders WHERE id = ? FOR UPDATE;

-- name: ListOrders :many
SELECT * FROM orders WHERE id > ? ORDER BY id LIMIT ?;

-- name: UpdateOrderPayment :execrows
UPDATE orders SET is_paid = ?, payment_link = ?, version = version + 1 WHERE id = ?;

-- name: DeleteOrder :execrows
DELETE FROM orders WHERE id = ?;

-- name: ListHighestSpenders :many
-- Top spenders over orders that were not cancelled.
SELECT o.user_id, u.name, CAST(SUM(o.total_amount) AS DECIMAL(14,2)) AS total_expense
FROM orders o JOIN users u ON u.id = o.user_id
WHERE o.status <> 'Cancelled'
GROUP BY o.user_id, u.name
ORDER BY total_expense DESC, o.user_id
LIMIT ?;

-- name: UpdateOrderStatus :execrows
-- Moves an order's saga state; every change bumps the version.
UPDATE orders SET status = ?, stock_taken = ?, failure_reason = ?, version = version + 1 WHERE id = ?;

-- name: UpdateOrderPaymentLink :execrows
UPDATE orders SET status = ?, payment_id = ?, payment_link = ?, version = version + 1 WHERE id = ?;

-- name: MarkOrderPaid :execrows
UPDATE orders SET is_paid = TRUE, version = version + 1 WHERE id = ? AND is_paid = FALSE;

-- name: SetOrderStockEvent :execrows
-- Records the StockDecreased event whose payment the order awaits.
UPDATE orders SET stock_event_id = ? WHERE id = ?;
