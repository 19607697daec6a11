package systemtest

import (
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/services/platform/config"
	schema "github.com/store-manager/store-manager/sql"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// A backwards-compatible migration applies to the running system: with two
// replicas of each service and a stream of orders through the gateway, a
// nullable column is added to orders and one to the outbox Debezium reads.
// Debezium keeps relaying, no order is lost or stuck, stock is conserved and
// the read model equals the database (the chaos suite's invariants). The
// migration is reverted afterwards: it is the test's, not the project's.
func TestMigrationAppliesWhileOrdersFlow(t *testing.T) {
	s := systemkit.New(t)
	systemkit.StackWith(t, []string{"REPLICAS=2"}, "apps")
	systemkit.StackWith(t, []string{"REPLICAS=2"}, "gateway")
	t.Cleanup(func() {
		systemkit.StackWith(t, []string{"REPLICAS=1"}, "apps")
		systemkit.StackWith(t, []string{"REPLICAS=1"}, "gateway")
	})
	files := withOnlineNote(t)
	dsn := config.Load().StoreDSN

	user := s.User(t)
	products, ids := s.Products(t, 3, 1000)
	cs := startStream(s, user, ids, 25*time.Millisecond)
	t.Cleanup(cs.end)
	cs.waitAccepted(t, 20)
	if err := schema.Apply(dsn, files, 1); err != nil {
		t.Fatalf("the migration under load: %v", err)
	}
	t.Cleanup(func() {
		if err := schema.Apply(dsn, files, -1); err != nil {
			t.Errorf("revert the test's migration: %v", err)
		}
	})
	db := stacktest.Open(t, dsn)
	for _, table := range []string{"orders", "outbox"} {
		if _, err := db.Exec("SELECT online_note FROM " + table + " LIMIT 0"); err != nil {
			t.Fatalf("the migration did not add its column to %s: %v", table, err)
		}
	}
	cs.waitAccepted(t, cs.count()+40) // orders placed after the ALTERs go through the new outbox
	cs.end()
	invariants(t, s, 60*time.Second, user, products, cs)
	st := config.Load()
	state, err := connectors.NewClient(st.ConnectURL).Status(systemkit.Ctx(t), st.Connector(connectors.StoreOutbox))
	if err != nil || !state.Running() {
		t.Fatalf("the store's connector after the migration: %+v, %v", state, err)
	}
}

// withOnlineNote is the store's migrations with one more, the test's: a
// nullable column on orders and on the outbox.
func withOnlineNote(t *testing.T) fs.FS {
	t.Helper()
	own, err := schema.Migrations("store")
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	err = fs.WalkDir(own, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(own, path)
		files[path] = &fstest.MapFile{Data: raw}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files["900000_online_note.up.sql"] = &fstest.MapFile{Data: []byte(
		"ALTER TABLE orders ADD COLUMN online_note VARCHAR(64) NULL;\nALTER TABLE outbox ADD COLUMN online_note VARCHAR(64) NULL;\n")}
	files["900000_online_note.down.sql"] = &fstest.MapFile{Data: []byte(
		"ALTER TABLE outbox DROP COLUMN online_note;\nALTER TABLE orders DROP COLUMN online_note;\n")}
	return files
}
