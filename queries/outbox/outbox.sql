-- A transaction's events are written in one statement of as many rows
-- (services/platform/txn/rows.go): sqlc compiles a fixed row count.

-- name: DeleteOutboxEventsBefore :execrows
-- Captured rows may go: Debezium reads the binlog, not the table. In batches,
-- so a purge never holds many locks.
DELETE FROM outbox WHERE created_at < sqlc.arg(before) ORDER BY created_at LIMIT ?;

-- name: CountOutboxEventsBefore :one
-- Rows a purge should have removed already: a janitor that falls behind shows here.
SELECT COUNT(*) FROM outbox WHERE created_at < sqlc.arg(before);
