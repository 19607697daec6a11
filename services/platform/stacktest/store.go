package stacktest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
)

// Store is the store service built in the test process over the real
// database and Redis, beside the running system.
type Store struct {
	Service *store.Service
	DB      *sql.DB
	Redis   *redis.Client
	Reads   *readmodel.Store
}

// NewStore builds a Store and closes it when the test ends.
func NewStore(t testing.TB) Store {
	t.Helper()
	st := Stack(t)
	db := Open(t, st.StoreDSN)
	q, err := store.Prepare(context.Background(), db)
	if err != nil {
		t.Fatalf("prepare store queries: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: st.RedisAddr})
	t.Cleanup(func() { rdb.Close() })
	reads := readmodel.New(rdb)
	return Store{Service: store.New(q, reads), DB: db, Redis: rdb, Reads: reads}
}
