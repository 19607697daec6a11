-- Payments database: payments, the transactional outbox that Debezium reads
-- and the consumer dedup table. Runs unchanged on MariaDB 10.11 and MySQL 8.4.

CREATE TABLE payments (
    id           BIGINT        NOT NULL AUTO_INCREMENT,
    order_id     BIGINT        NOT NULL,
    user_id      BIGINT        NOT NULL,
    total_amount DECIMAL(12,2) NOT NULL,
    is_paid      BOOLEAN       NOT NULL DEFAULT FALSE,
    created_at   DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    paid_at      DATETIME(6)   NULL,
    PRIMARY KEY (id),
    UNIQUE KEY payments_order_uq (order_id),
    CONSTRAINT payments_total_ck CHECK (total_amount >= 0)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Debezium Outbox Event Router layout, as in the store database.
CREATE TABLE outbox (
    id            CHAR(36)     NOT NULL,
    aggregatetype VARCHAR(64)  NOT NULL,
    aggregateid   VARCHAR(64)  NOT NULL,
    type          VARCHAR(64)  NOT NULL,
    payload       JSON         NOT NULL,
    created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (id),
    KEY outbox_created_idx (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE processed_events (
    consumer     VARCHAR(64) NOT NULL,
    event_id     CHAR(36)    NOT NULL,
    processed_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (consumer, event_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
