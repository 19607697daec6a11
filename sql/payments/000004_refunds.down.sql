ALTER TABLE payments DROP COLUMN refunded_amount, DROP COLUMN refunded_at;
