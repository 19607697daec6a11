-- A transaction's steps are written in one statement (services/store/rows.go).

-- name: ListOrderSteps :many
SELECT * FROM order_steps WHERE order_id = ? ORDER BY id;

-- name: ListOrderStepsForOrders :many
SELECT * FROM order_steps
WHERE order_id IN (sqlc.slice('order_ids')) ORDER BY order_id, id;

-- name: ListStepsSince :many
-- The saga steps of the orders created since a time, in order of each order's
-- history, for step latencies (bounded by the caller's limit).
SELECT s.order_id, s.event, s.created_at FROM order_steps s
JOIN orders o ON o.id = s.order_id
WHERE o.created_at >= ?
ORDER BY s.order_id, s.id LIMIT ?;
