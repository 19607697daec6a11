DROP INDEX orders_status_created_idx ON orders;
