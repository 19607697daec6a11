-- name: CreateProcessedEvent :execrows
-- Records that a consumer applied an event; 0 rows means it already had.
INSERT IGNORE INTO processed_events (consumer, event_id) VALUES (?, ?);
