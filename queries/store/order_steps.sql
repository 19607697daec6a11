-- name: CreateOrderStep :exec
INSERT INTO order_steps (order_id, event, status, detail, created_at) VALUES (?, ?, ?, ?, ?);

-- name: ListOrderSteps :many
SELECT * FROM order_steps WHERE order_id = ? ORDER BY id;

-- name: ListOrderStepsForOrders :many
SELECT * FROM order_steps
WHERE order_id IN (sqlc.slice('order_ids')) ORDER BY order_id, id;
