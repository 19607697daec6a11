-- Databases and accounts of the native stack. Idempotent; runs as the server's
-- administrator. The passwords are LOCAL DEVELOPMENT DEFAULTS for a loopback-only
-- server; set real ones anywhere else.
CREATE DATABASE IF NOT EXISTS store CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS payments CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- make test's instance of the system, beside the one make run serves.
CREATE DATABASE IF NOT EXISTS store_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS payments_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- The cluster tests' instance (make test-cluster).
CREATE DATABASE IF NOT EXISTS store_cluster CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS payments_cluster CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

DROP USER IF EXISTS ''@'localhost';

-- Each service owns its database and nothing else.
CREATE USER IF NOT EXISTS 'store'@'%' IDENTIFIED BY 'store';
GRANT ALL PRIVILEGES ON store.* TO 'store'@'%';
GRANT ALL PRIVILEGES ON store_test.* TO 'store'@'%';
GRANT ALL PRIVILEGES ON store_cluster.* TO 'store'@'%';
CREATE USER IF NOT EXISTS 'payments'@'%' IDENTIFIED BY 'payments';
GRANT ALL PRIVILEGES ON payments.* TO 'payments'@'%';
GRANT ALL PRIVILEGES ON payments_test.* TO 'payments'@'%';
GRANT ALL PRIVILEGES ON payments_cluster.* TO 'payments'@'%';

-- Debezium reads the binlog and the captured tables' schema only.
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY 'debezium';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%';
GRANT SELECT ON store.* TO 'debezium'@'%';
GRANT SELECT ON payments.* TO 'debezium'@'%';
GRANT SELECT ON store_test.* TO 'debezium'@'%';
GRANT SELECT ON payments_test.* TO 'debezium'@'%';
GRANT SELECT ON store_cluster.* TO 'debezium'@'%';
GRANT SELECT ON payments_cluster.* TO 'debezium'@'%';

-- The Prometheus exporter reads the server's status only.
CREATE USER IF NOT EXISTS 'exporter'@'%' IDENTIFIED BY 'exporter' WITH MAX_USER_CONNECTIONS 3;
GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'exporter'@'%';
GRANT SELECT ON performance_schema.* TO 'exporter'@'%';

-- Operators and tests: creates scratch databases, checks grants.
CREATE USER IF NOT EXISTS 'admin'@'%' IDENTIFIED BY 'admin';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
