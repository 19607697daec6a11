ALTER TABLE outbox DROP COLUMN tracingspancontext;
