-- name: CreatePayment :execlastid
INSERT INTO payments (order_id, user_id, total_amount) VALUES (?, ?, ?);

-- name: GetPayment :one
SELECT id, order_id, user_id, total_amount, is_paid, created_at, paid_at FROM payments WHERE id = ?;

-- name: MarkPaymentPaid :execrows
-- Pays an unpaid payment; 0 rows means it was already paid or is unknown.
UPDATE payments SET is_paid = TRUE, paid_at = CURRENT_TIMESTAMP(6) WHERE id = ? AND is_paid = FALSE;

-- name: GetPaymentByOrder :one
SELECT id, order_id, user_id, total_amount, is_paid, created_at, paid_at FROM payments WHERE order_id = ?;
