ALTER TABLE payments DROP COLUMN voided_at;
DROP TABLE orders;
