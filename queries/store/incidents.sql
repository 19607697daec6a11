-- name: CreateIncident :exec
-- Records a money event the saga could not apply; the event's redelivery
-- records nothing more.
INSERT IGNORE INTO incidents (order_id, event_id, event_type, reason) VALUES (?, ?, ?, ?);

-- name: ListOpenIncidents :many
-- The incidents no operator has resolved yet, oldest first.
SELECT id, order_id, event_id, event_type, reason, created_at FROM incidents
WHERE resolved_at IS NULL ORDER BY id LIMIT ?;

-- name: CountOpenIncidents :one
SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL;

-- name: ResolveIncident :execrows
-- Closes an open incident with what the operator did about it.
UPDATE incidents SET resolved_at = CURRENT_TIMESTAMP(6), resolution = ? WHERE id = ? AND resolved_at IS NULL;
