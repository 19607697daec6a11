package schema_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	schema "github.com/store-manager/store-manager/sql"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = DATABASE() AND table_name <> 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestMigrationsUpDownUp(t *testing.T) {
	cases := []struct {
		service string
		tables  []string
	}{
		{"store", []string{"incidents", "order_items", "order_steps", "orders", "outbox", "processed_events", "products", "restocks", "stocks", "users"}},
		{"payments", []string{"orders", "outbox", "payments", "processed_events"}},
	}
	for _, tc := range cases {
		t.Run(tc.service, func(t *testing.T) {
			dsn := stacktest.ScratchDatabase(t, "migtest_"+tc.service)
			db := stacktest.Open(t, dsn)

			if err := schema.Up(dsn, tc.service); err != nil {
				t.Fatalf("up: %v", err)
			}
			if got := tables(t, db); !slices.Equal(got, tc.tables) {
				t.Fatalf("after up: tables %v, want %v", got, tc.tables)
			}
			if err := schema.Down(dsn, tc.service); err != nil {
				t.Fatalf("down: %v", err)
			}
			if got := tables(t, db); len(got) != 0 {
				t.Fatalf("after down: tables %v remain", got)
			}
			if err := schema.Up(dsn, tc.service); err != nil {
				t.Fatalf("up again: %v", err)
			}
			if got := tables(t, db); !slices.Equal(got, tc.tables) {
				t.Fatalf("after second up: tables %v, want %v", got, tc.tables)
			}
			v, dirty, err := schema.Version(dsn, tc.service)
			if err != nil || dirty || v == 0 {
				t.Fatalf("version = %d dirty=%t err=%v", v, dirty, err)
			}
		})
	}
}

// The constraints the design relies on are enforced by the server, not only declared.
func TestStoreConstraints(t *testing.T) {
	dsn := stacktest.ScratchDatabase(t, "migtest_ck")
	if err := schema.Up(dsn, "store"); err != nil {
		t.Fatal(err)
	}
	db := stacktest.Open(t, dsn)
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO users (id, name, email) VALUES (1, 'A', 'a@example.com')`)
	mustExec(`INSERT INTO products (id, name, sku, price) VALUES (1, 'P', 'SKU1', 1.50)`)
	mustExec(`INSERT INTO stocks (product_id, quantity) VALUES (1, 3)`)

	rejected := []struct {
		name  string
		query string
	}{
		{"negative stock", `UPDATE stocks SET quantity = -1 WHERE product_id = 1`},
		{"duplicate email", `INSERT INTO users (name, email) VALUES ('B', 'a@example.com')`},
		{"duplicate sku", `INSERT INTO products (name, sku, price) VALUES ('Q', 'SKU1', 2)`},
		{"negative price", `INSERT INTO products (name, sku, price) VALUES ('Q', 'SKU2', -2)`},
		{"order of unknown user", `INSERT INTO orders (user_id, status) VALUES (99, 'x')`},
		{"zero item quantity", `INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (1, 1, 0, 1)`},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := db.Exec(tc.query); err == nil {
				t.Fatalf("%s was accepted", tc.query)
			}
		})
	}
}

// The outbox and inbox tables are the same in every service's database: the
// platform's statements (queries/outbox) are compiled once, against the
// store's schema, and run on each.
func TestOutboxTablesAreTheSameEverywhere(t *testing.T) {
	columns := func(service, table string) []string {
		dsn := stacktest.ScratchDatabase(t, "migtest_box_"+service)
		if err := schema.Up(dsn, service); err != nil {
			t.Fatal(err)
		}
		rows, err := stacktest.Open(t, dsn).Query(`SELECT column_name, column_type, is_nullable, COALESCE(column_default, '')
			FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position`, table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name, typ, null, def string
			if err := rows.Scan(&name, &typ, &null, &def); err != nil {
				t.Fatal(err)
			}
			out = append(out, name+" "+typ+" "+null+" "+def)
		}
		return out
	}
	for _, table := range []string{"outbox", "processed_events"} {
		if s, p := columns("store", table), columns("payments", table); !slices.Equal(s, p) || len(s) == 0 {
			t.Errorf("%s differs: store %v, payments %v", table, s, p)
		}
	}
}

// dumpSchema is every table's SHOW CREATE TABLE but golang-migrate's own, by name.
func dumpSchema(db *sql.DB) func() (string, error) {
	return func() (string, error) {
		rows, err := db.Query(`SELECT table_name FROM information_schema.tables
			WHERE table_schema = DATABASE() AND table_name <> 'schema_migrations' ORDER BY table_name`)
		if err != nil {
			return "", err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return "", err
			}
			names = append(names, n)
		}
		rows.Close()
		var b strings.Builder
		for _, n := range names {
			var table, create string
			if err := db.QueryRow("SHOW CREATE TABLE `"+n+"`").Scan(&table, &create); err != nil {
				return "", err
			}
			b.WriteString(create + ";\n")
		}
		return b.String(), nil
	}
}

// Every migration's down undoes its up exactly: the schema after up then
// down is the schema before the up, table by table.
func TestEachDownUndoesItsUp(t *testing.T) {
	for _, service := range schema.Services {
		t.Run(service, func(t *testing.T) {
			files, err := schema.Migrations(service)
			if err != nil {
				t.Fatal(err)
			}
			dsn := stacktest.ScratchDatabase(t, "migdown_"+service)
			bad, err := schema.DownUndoesUp(dsn, files, dumpSchema(stacktest.Open(t, dsn)))
			if err != nil {
				t.Fatal(err)
			}
			if bad != "" {
				t.Fatalf("the down migration does not undo the up of %s", bad)
			}
		})
	}
}

// The check names a migration whose down leaves something behind.
func TestDownUndoesUpNamesTheMigration(t *testing.T) {
	files := fstest.MapFS{
		"000001_items.up.sql":     {Data: []byte("CREATE TABLE items (id BIGINT PRIMARY KEY);")},
		"000001_items.down.sql":   {Data: []byte("DROP TABLE items;")},
		"000002_item_note.up.sql": {Data: []byte("ALTER TABLE items ADD COLUMN note TEXT NULL, ADD INDEX items_note_idx (note(16));")},
		// Drops the index it added, and forgets the column.
		"000002_item_note.down.sql": {Data: []byte("ALTER TABLE items DROP INDEX items_note_idx;")},
	}
	dsn := stacktest.ScratchDatabase(t, "migdown_bad")
	bad, err := schema.DownUndoesUp(dsn, files, dumpSchema(stacktest.Open(t, dsn)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bad, "000002_item_note\n") {
		t.Fatalf("the check named %q, want 000002_item_note", bad)
	}
}
