-- name: CreatePayment :execlastid
INSERT INTO payments (order_id, user_id, total_amount) VALUES (?, ?, ?);

-- name: GetPayment :one
SELECT id, order_id, user_id, total_amount, is_paid, voided_at, refunded_at, refunded_amount FROM payments WHERE id = ?;

-- name: GetPaymentForUpdate :one
SELECT id, order_id, user_id, total_amount, is_paid, voided_at, refunded_at, refunded_amount FROM payments WHERE id = ? FOR UPDATE;

-- name: MarkPaymentPaid :execrows
-- Pays an unpaid, live payment; 0 rows means it was paid or void meanwhile.
UPDATE payments SET is_paid = TRUE, paid_at = CURRENT_TIMESTAMP(6) WHERE id = ? AND is_paid = FALSE AND voided_at IS NULL;

-- name: GetPaymentByOrder :one
SELECT id, order_id, user_id, total_amount, is_paid, voided_at, refunded_at, refunded_amount FROM payments WHERE order_id = ?;

-- name: GetPaymentByOrderForUpdate :one
SELECT id, order_id, user_id, total_amount, is_paid, voided_at, refunded_at, refunded_amount FROM payments WHERE order_id = ? FOR UPDATE;

-- name: VoidPayment :execrows
-- Voids an unpaid payment, so it can no longer be paid.
UPDATE payments SET voided_at = CURRENT_TIMESTAMP(6) WHERE id = ? AND is_paid = FALSE AND voided_at IS NULL;

-- name: RefundPayment :execrows
-- Refunds a captured payment in full, once.
UPDATE payments SET refunded_at = CURRENT_TIMESTAMP(6), refunded_amount = total_amount
WHERE id = ? AND is_paid = TRUE AND refunded_at IS NULL;

-- name: ListPaymentsAfterOrder :many
-- A page of payments in order id order, after an order id, for reconciliation
-- (payments_order_uq: an order has one payment at most).
SELECT id, order_id, total_amount, is_paid, created_at, paid_at, voided_at, refunded_at, refunded_amount FROM payments
WHERE order_id > ? ORDER BY order_id LIMIT ?;
