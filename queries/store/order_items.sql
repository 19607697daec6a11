-- name: CreateOrderItem :exec
INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (?, ?, ?, ?);

-- name: ListOrderItems :many
SELECT product_id, quantity, unit_price FROM order_items WHERE order_id = ? ORDER BY product_id;
