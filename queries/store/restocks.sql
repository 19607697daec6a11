-- name: CreateRestock :execlastid
-- Records a supplier's restock; a second row with the same supplier and
-- idempotency key is refused by restocks_key_uq.
INSERT INTO restocks (supplier, idempotency_key, product_id, quantity, stock_after, stock_version)
VALUES (?, ?, ?, ?, ?, ?);

-- name: GetRestockByKey :one
SELECT id, supplier, idempotency_key, product_id, quantity, stock_after, stock_version, created_at
FROM restocks WHERE supplier = ? AND idempotency_key = ?;

-- name: ListRestocks :many
-- A supplier's restocks since a time, newest first.
SELECT id, supplier, idempotency_key, product_id, quantity, stock_after, stock_version, created_at
FROM restocks
WHERE supplier = ? AND created_at >= ?
ORDER BY created_at DESC, id DESC
LIMIT ?;

-- name: ListProductRestocks :many
-- A supplier's restocks of one product since a time, newest first.
SELECT id, supplier, idempotency_key, product_id, quantity, stock_after, stock_version, created_at
FROM restocks
WHERE supplier = ? AND product_id = ? AND created_at >= ?
ORDER BY created_at DESC, id DESC
LIMIT ?;
