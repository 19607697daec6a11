-- name: CreateProduct :execlastid
INSERT INTO products (name, sku, price) VALUES (?, ?, ?);

-- name: GetProduct :one
SELECT id, name, sku, price, created_at, updated_at FROM products WHERE id = ?;

-- name: DeleteProduct :execrows
DELETE FROM products WHERE id = ?;
