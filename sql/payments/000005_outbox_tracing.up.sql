-- The span context of the handler that wrote an outbox row, for Debezium's
-- outbox router (see the store's 000007_tracing). Nullable and last: instant.
ALTER TABLE outbox ADD COLUMN tracingspancontext VARCHAR(512) NULL;
