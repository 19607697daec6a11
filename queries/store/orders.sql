-- name: CreateOrder :execlastid
INSERT INTO orders (user_id, total_amount, status) VALUES (?, ?, ?);

-- name: GetOrder :one
SELECT id, user_id, total_amount, status, payment_id, payment_link, is_paid,
       failure_reason, created_at, updated_at
FROM orders WHERE id = ?;

-- name: DeleteOrder :execrows
DELETE FROM orders WHERE id = ?;
