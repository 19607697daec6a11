-- The orders that payments has learned of from the store's events: the total a
-- payment of that order must have, and whether the order was cancelled or
-- deleted (void), which voids its unpaid payment.
CREATE TABLE orders (
    id           BIGINT        NOT NULL,
    user_id      BIGINT        NOT NULL,
    total_amount DECIMAL(12,2) NOT NULL,
    is_void      BOOLEAN       NOT NULL DEFAULT FALSE,
    created_at   DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

ALTER TABLE payments ADD COLUMN voided_at DATETIME(6) NULL;
