-- Trace context, so one order is one trace. An outbox row stores the span
-- context of the command or handler that wrote it, in the form Debezium's
-- outbox router reads (a java.util.Properties text with a traceparent
-- line): the router then gives the Kafka message a traceparent header, a
-- child of its own span. NULL (old rows, canaries, an unsampled trace)
-- gives no header. An order keeps the trace its creation started, so the
-- console and GET /orders/{id} lead to it. Both columns are nullable and
-- last: the change is instant, with no table copy.
ALTER TABLE outbox ADD COLUMN tracingspancontext VARCHAR(512) NULL;
ALTER TABLE orders ADD COLUMN trace_id CHAR(32) NULL;
