ALTER TABLE orders DROP COLUMN trace_id;
ALTER TABLE outbox DROP COLUMN tracingspancontext;
