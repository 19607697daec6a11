-- Finds the sagas past their deadline without reading every order.
CREATE INDEX orders_status_created_idx ON orders (status, created_at);
