// Package stacktest helps tests that run against the real native stack
// (MariaDB, Redis, Kafka, Kafka Connect), which the test command starts.
// Such tests are skipped under `go test -short` and fail when the stack is down.
package stacktest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"testing"

	driver "github.com/go-sql-driver/mysql"

	"github.com/store-manager/store-manager/services/platform/config"
)

// Stack returns the stack settings, skipping the test under -short.
func Stack(t testing.TB) config.Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the native stack; run without -short")
	}
	return config.Load()
}

// Instance returns the instance of the system the test runs against
// (STACK_NAMESPACE), skipping the test under -short.
func Instance(t testing.TB) config.Instance {
	t.Helper()
	Stack(t)
	i, err := config.CurrentInstance()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// Open opens dsn, pings it and closes it when the test ends.
func Open(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("ping database: %v (is the stack running? `make stack`)", err)
	}
	return db
}

// Suffix returns a random lowercase hex string to keep test data apart.
func Suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ScratchDatabase creates an empty database through the admin account, drops
// it when the test ends, and returns a DSN for it.
func ScratchDatabase(t testing.TB, prefix string) string {
	t.Helper()
	st := Stack(t)
	admin := Open(t, st.AdminDSN)
	name := fmt.Sprintf("%s_%s", prefix, Suffix())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create scratch database: %v", err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name) })
	cfg, err := driver.ParseDSN(st.AdminDSN)
	if err != nil {
		t.Fatalf("parse admin DSN: %v", err)
	}
	cfg.DBName = name
	return cfg.FormatDSN()
}
