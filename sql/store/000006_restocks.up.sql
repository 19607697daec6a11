-- Suppliers' restocks, one row each: the history a supplier reads back
-- (restocks query), and its idempotency keys. A restock retried with the
-- same key finds its row and adds nothing. Rows are never purged: they are
-- small, they are the record of what each supplier delivered, and a key
-- kept forever makes a retry safe however late it comes.
CREATE TABLE restocks (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    supplier        VARCHAR(64)  NOT NULL,
    idempotency_key VARCHAR(128) NULL,
    product_id      BIGINT       NOT NULL,
    quantity        INT          NOT NULL,
    stock_after     INT          NOT NULL,
    stock_version   BIGINT       NOT NULL,
    created_at      DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    UNIQUE KEY restocks_key_uq (supplier, idempotency_key),
    KEY restocks_supplier_time_idx (supplier, created_at),
    KEY restocks_supplier_product_idx (supplier, product_id, created_at),
    CONSTRAINT restocks_quantity_ck CHECK (quantity > 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

