package schema_test

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	schema "github.com/store-manager/store-manager/sql"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// fullScans are the queries allowed to read a whole table, each with why.
// Every other query of queries/ must find its rows through an index.
var fullScans = map[string]string{
	"store/CountLowStock": "the low-stock gauge counts every product's stock every 15 s; stocks holds one small row per product",
	"store/ListBestSellers": "the report sums every sold item: it walks products whole (one row each, the smaller side) " +
		"and reaches each product's items and their orders by index, never scanning order_items or orders",
}

// textArgs are the leading arguments of the queries that compare a text
// column: a number there would be converted row by row, never looked up.
var textArgs = map[string][]any{
	"store/GetRestockByKey":     {"acme", "k1"},
	"store/ListRestocks":        {"acme"},
	"store/ListProductRestocks": {"acme"},
}

// query is one hand-written query of queries/, as sqlc reads it.
type query struct{ service, name, sql string }

// sqlcMacro is sqlc's placeholder syntax, which MariaDB reads as one
// parameter each; sqlcEmbed is a table's columns.
var (
	sqlcMacro = regexp.MustCompile(`sqlc\.(arg|narg|slice)\([^)]*\)`)
	sqlcEmbed = regexp.MustCompile(`sqlc\.embed\((\w+)\)`)
)

// readQueries reads the queries of one folder of queries/ (store, payments, outbox).
func readQueries(t *testing.T, folder string) []query {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "queries", folder, "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	var out []query
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, block := range strings.Split(string(raw), "-- name: ")[1:] {
			lines := strings.Split(block, "\n")
			var body []string
			for _, l := range lines[1:] {
				if !strings.HasPrefix(strings.TrimSpace(l), "--") {
					body = append(body, l)
				}
			}
			text := sqlcMacro.ReplaceAllString(strings.TrimSpace(strings.Join(body, "\n")), "?")
			text = sqlcEmbed.ReplaceAllString(text, "$1.*")
			out = append(out, query{service: folder, name: strings.Fields(lines[0])[0], sql: strings.TrimSuffix(text, ";")})
		}
	}
	return out
}

// fullScan explains q on db and returns the tables it reads whole (access type ALL).
func fullScan(t *testing.T, db *sql.DB, q query) []string {
	t.Helper()
	args := make([]any, strings.Count(q.sql, "?"))
	for i := range args {
		args[i] = 1 // ids, counts and limits; a time compared with 1 still plans as a range
	}
	if typed, ok := textArgs[q.service+"/"+q.name]; ok {
		copy(args, typed)
	}
	var plan string
	if err := db.QueryRow("EXPLAIN FORMAT=JSON "+q.sql, args...).Scan(&plan); err != nil {
		t.Fatalf("%s/%s: explain: %v", q.service, q.name, err)
	}
	var tree any
	if err := json.Unmarshal([]byte(plan), &tree); err != nil {
		t.Fatalf("%s/%s: read the plan: %v", q.service, q.name, err)
	}
	var scans []string
	var walk func(any)
	walk = func(n any) {
		switch v := n.(type) {
		case map[string]any:
			if v["access_type"] == "ALL" {
				scans = append(scans, v["table_name"].(string))
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(tree)
	return scans
}

// seeded is a migrated scratch database of service with rows enough that
// the planner chooses as it would in use, and its statistics.
func seeded(t *testing.T, service string) *sql.DB {
	t.Helper()
	dsn := stacktest.ScratchDatabase(t, "plans_"+service)
	if err := schema.Up(dsn, service); err != nil {
		t.Fatal(err)
	}
	db := stacktest.Open(t, dsn)
	seed := map[string][]string{
		"store": {
			`INSERT INTO users (name, email) SELECT CONCAT('u', seq), CONCAT('u', seq, '@example.com') FROM seq_1_to_2000`,
			`INSERT INTO products (name, sku, price) SELECT CONCAT('p', seq), CONCAT('SKU', seq), 1.00 FROM seq_1_to_2000`,
			`INSERT INTO stocks (product_id, quantity, version) SELECT id, id % 50, 1 FROM products`,
			`INSERT INTO orders (user_id, total_amount, status, is_paid, stock_taken, created_at, updated_at)
			 SELECT 1 + seq % 2000, 2.00, ELT(1 + seq % 4, 'Completed', 'Cancelled', 'Created', 'StockDecreased'), seq % 2, seq % 2,
			 NOW(6) - INTERVAL seq SECOND, NOW(6) FROM seq_1_to_4000`,
			`INSERT INTO order_items (order_id, product_id, quantity, unit_price) SELECT id, 1 + id % 2000, 2, 1.00 FROM orders`,
			`INSERT INTO order_steps (order_id, event, status, created_at) SELECT id, 'OrderCreated', status, created_at FROM orders`,
			`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, created_at)
			 SELECT UUID(), 'orders', seq, 'OrderCreated', '{}', NOW(6) - INTERVAL seq SECOND FROM seq_1_to_4000`,
			`INSERT INTO processed_events (consumer, event_id, processed_at) SELECT 'saga', UUID(), NOW(6) - INTERVAL seq SECOND FROM seq_1_to_4000`,
			`INSERT INTO restocks (supplier, idempotency_key, product_id, quantity, stock_after, stock_version, created_at)
			 SELECT ELT(1 + seq % 4, 'acme', 'globex', 'initech', 'umbrella'), CONCAT('k', seq), 1 + seq % 2000, 5, 10, seq,
			 NOW(6) - INTERVAL seq MINUTE FROM seq_1_to_4000`,
		},
		"payments": {
			`INSERT INTO orders (id, user_id, total_amount) SELECT seq, 1 + seq % 2000, 2.00 FROM seq_1_to_4000`,
			`INSERT INTO payments (order_id, user_id, total_amount, is_paid) SELECT id, user_id, total_amount, id % 2 FROM orders`,
			`INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, created_at)
			 SELECT UUID(), 'payments', seq, 'PaymentCreated', '{}', NOW(6) - INTERVAL seq SECOND FROM seq_1_to_4000`,
			`INSERT INTO processed_events (consumer, event_id, processed_at) SELECT 'saga', UUID(), NOW(6) - INTERVAL seq SECOND FROM seq_1_to_4000`,
		},
	}
	for _, s := range seed[service] {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("seed %s: %v\n%s", service, err, s)
		}
	}
	if _, err := db.Exec("ANALYZE TABLE " + strings.Join(tables(t, db), ", ")); err != nil {
		t.Fatal(err)
	}
	return db
}

// Every query of queries/ finds its rows through an index, on a database
// seeded like one in use, but those listed in fullScans with why: orders
// and stock by id, the stock changes, the outbox and inbox statements, the
// saga's reads and the reports. INSERTs read nothing and are left out.
func TestQueriesUseIndexes(t *testing.T) {
	for _, folders := range []struct {
		service string
		queries []string
	}{{"store", []string{"store", "outbox"}}, {"payments", []string{"payments", "outbox"}}} {
		t.Run(folders.service, func(t *testing.T) {
			db := seeded(t, folders.service)
			for _, folder := range folders.queries {
				for _, q := range readQueries(t, folder) {
					if strings.HasPrefix(strings.ToUpper(q.sql), "INSERT") {
						continue
					}
					key := folders.service + "/" + q.name
					if scans := fullScan(t, db, q); len(scans) > 0 && fullScans[key] == "" {
						t.Errorf("%s (queries/%s) reads all of %v: add an index, or list it in fullScans with why", q.name, folder, scans)
					}
				}
			}
		})
	}
}

// The check sees an index go: without orders' index on (status,
// created_at), the saga deadline's query reads every order.
func TestQueriesUseIndexesSeesADroppedIndex(t *testing.T) {
	db := seeded(t, "store")
	var overdue query
	for _, q := range readQueries(t, "store") {
		if q.name == "ListOverdueOrders" {
			overdue = q
		}
	}
	if scans := fullScan(t, db, overdue); len(scans) != 0 {
		t.Fatalf("ListOverdueOrders reads all of %v with its index", scans)
	}
	if _, err := db.Exec("DROP INDEX orders_status_created_idx ON orders"); err != nil {
		t.Fatal(err)
	}
	if scans := fullScan(t, db, overdue); len(scans) == 0 {
		t.Fatal("without its index, ListOverdueOrders was not seen reading the whole orders table")
	}
}
