-- The StockDecreased event that asked for an order's payment: a PaymentCreated
-- is applied only when it names this event as its cause.
ALTER TABLE orders ADD COLUMN stock_event_id CHAR(36) NULL;
