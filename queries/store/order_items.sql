-- Items are written with their orders (services/store/rows.go).

-- name: ListOrderItems :many
SELECT * FROM order_items WHERE order_id = ? ORDER BY product_id;

-- name: ListOrderItemsForOrders :many
SELECT * FROM order_items
WHERE order_id IN (sqlc.slice('order_ids')) ORDER BY order_id, product_id;

-- name: ListBestSellers :many
-- Units sold per product over orders that were not cancelled, nor are being cancelled or deleted.
SELECT i.product_id, p.name, CAST(SUM(i.quantity) AS SIGNED) AS quantity_sold
FROM order_items i
JOIN orders o ON o.id = i.order_id
JOIN products p ON p.id = i.product_id
WHERE o.status NOT IN ('Cancelled', 'Cancelling', 'Deleting')
GROUP BY i.product_id, p.name
ORDER BY quantity_sold DESC, i.product_id
LIMIT ?;

-- name: ListProductSales :many
-- Units sold of some products by completed orders over the last 1, 7 and
-- 30 days (the suppliers' sales figures): the last 30 days of completed
-- orders by orders_status_created_idx, then their items.
SELECT i.product_id,
       CAST(SUM(CASE WHEN o.created_at >= NOW(6) - INTERVAL 1 DAY THEN i.quantity ELSE 0 END) AS SIGNED) AS sold_1d,
       CAST(SUM(CASE WHEN o.created_at >= NOW(6) - INTERVAL 7 DAY THEN i.quantity ELSE 0 END) AS SIGNED) AS sold_7d,
       CAST(SUM(i.quantity) AS SIGNED) AS sold_30d
FROM orders o
JOIN order_items i ON i.order_id = o.id
WHERE o.status = 'Completed' AND o.created_at >= NOW(6) - INTERVAL 30 DAY
  AND i.product_id IN (sqlc.slice('product_ids'))
GROUP BY i.product_id;
