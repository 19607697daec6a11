-- name: SetStock :exec
-- Sets a product's stock to an absolute quantity; every change bumps the version.
INSERT INTO stocks (product_id, quantity, version) VALUES (?, ?, 1)
ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), version = version + 1;

-- name: GetStock :one
SELECT product_id, quantity, version FROM stocks WHERE product_id = ?;

-- name: DecreaseStock :execrows
-- Takes stock only when enough is left, so stock never goes below zero.
UPDATE stocks SET quantity = quantity - sqlc.arg(amount), version = version + 1
WHERE product_id = sqlc.arg(product_id) AND quantity >= sqlc.arg(amount);

-- name: IncreaseStock :execrows
UPDATE stocks SET quantity = quantity + sqlc.arg(amount), version = version + 1
WHERE product_id = sqlc.arg(product_id);

-- name: ListStockOverview :many
-- One join for the stock report: every product with its units in stock.
SELECT p.id, p.name, p.sku, p.price, COALESCE(s.quantity, 0) AS quantity
FROM products p LEFT JOIN stocks s ON s.product_id = p.id
ORDER BY p.id;

-- name: ListProductsWithStock :many
-- Every product with its stock and versions: what the read models hold.
SELECT p.id, p.name, p.sku, p.price, s.quantity, s.version AS stock_version
FROM products p LEFT JOIN stocks s ON s.product_id = p.id
ORDER BY p.id;

-- name: CountLowStock :one
-- Products with this many units or fewer, for the stock gauge.
SELECT COUNT(*) FROM stocks WHERE quantity <= ?;

-- name: LockStocks :many
-- Locks the stock of an order's products, in product order (as every
-- transaction takes them, so none waits on another in a circle), and reads
-- what is left: whether an order can be served is known before anything is taken.
SELECT product_id, quantity, version FROM stocks
WHERE product_id IN (sqlc.slice(product_ids))
ORDER BY product_id
FOR UPDATE;
