-- name: CreateOutboxEvent :exec
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, ?, ?, ?);

-- name: DeleteOutboxEventsBefore :execrows
-- Captured rows may go: Debezium reads the binlog, not the table.
DELETE FROM outbox WHERE created_at < ?;
