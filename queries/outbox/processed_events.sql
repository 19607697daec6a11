-- name: CreateProcessedEvent :execrows
-- Records that a consumer applied an event; 0 rows means it already had.
INSERT IGNORE INTO processed_events (consumer, event_id) VALUES (?, ?);

-- name: DeleteProcessedEventsBefore :execrows
-- An event older than its topic's retention cannot be delivered again, so its
-- record is no longer needed. In batches, like the outbox.
DELETE FROM processed_events WHERE processed_at < sqlc.arg(before) ORDER BY processed_at LIMIT ?;

-- name: CountProcessedEventsBefore :one
-- Records a purge should have removed already.
SELECT COUNT(*) FROM processed_events WHERE processed_at < sqlc.arg(before);
