-- A paid payment whose order was cancelled or deleted is refunded in full:
-- when, and how much. A refunded payment stays paid (it was captured).
ALTER TABLE payments
    ADD COLUMN refunded_at     DATETIME(6)   NULL,
    ADD COLUMN refunded_amount DECIMAL(12,2) NULL;
