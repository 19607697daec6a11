ALTER TABLE orders DROP COLUMN stock_event_id;
