-- name: CreateProduct :execlastid
INSERT INTO products (name, sku, price) VALUES (?, ?, ?);

-- name: GetProduct :one
SELECT id, name, sku, price, created_at, updated_at FROM products WHERE id = ?;

-- name: ListProductPrices :many
-- Prices of the products an order names, locked for the order's transaction.
SELECT id, price FROM products WHERE id IN (sqlc.slice('ids')) LOCK IN SHARE MODE;

-- name: DeleteProduct :execrows
DELETE FROM products WHERE id = ?;
