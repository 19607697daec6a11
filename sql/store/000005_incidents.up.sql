-- Money events the saga could not apply (a payment event that does not match
-- its order, or names no order at all): each is an incident an operator
-- resolves, not a log line. One row per event; order_id may name an order
-- that does not exist.
CREATE TABLE incidents (
    id          BIGINT       NOT NULL AUTO_INCREMENT,
    order_id    BIGINT       NOT NULL,
    event_id    CHAR(36)     NOT NULL,
    event_type  VARCHAR(64)  NOT NULL,
    reason      VARCHAR(512) NOT NULL,
    created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    resolved_at DATETIME(6)  NULL,
    resolution  VARCHAR(512) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY incidents_event_uq (event_id),
    KEY incidents_open_idx (resolved_at, id),
    KEY incidents_order_idx (order_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
