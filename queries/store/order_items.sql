-- name: CreateOrderItem :exec
INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (?, ?, ?, ?);

-- name: ListOrderItems :many
SELECT * FROM order_items WHERE order_id = ? ORDER BY product_id;

-- name: ListOrderItemsForOrders :many
SELECT * FROM order_items
WHERE order_id IN (sqlc.slice('order_ids')) ORDER BY order_id, product_id;

-- name: ListBestSellers :many
-- Units sold per product over orders that were not cancelled, nor are being cancelled or deleted.
SELECT i.product_id, p.name, CAST(SUM(i.quantity) AS SIGNED) AS quantity_sold
FROM order_items i
JOIN orders o ON o.id = i.order_id
JOIN products p ON p.id = i.product_id
WHERE o.status NOT IN ('Cancelled', 'Cancelling', 'Deleting')
GROUP BY i.product_id, p.name
ORDER BY quantity_sold DESC, i.product_id
LIMIT ?;
