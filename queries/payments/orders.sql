-- name: CreateOrder :exec
-- Records an order announced by the store; a replay leaves the row as it is.
INSERT INTO orders (id, user_id, total_amount) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE id = id;

-- name: GetOrderForUpdate :one
SELECT id, user_id, total_amount, is_void FROM orders WHERE id = ? FOR UPDATE;

-- name: VoidOrder :exec
-- Marks an order cancelled or deleted, recording it when it was not known yet.
INSERT INTO orders (id, user_id, total_amount, is_void) VALUES (?, ?, ?, TRUE)
ON DUPLICATE KEY UPDATE is_void = TRUE;
