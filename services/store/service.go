package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/txn"
)

// ReadModel is the read side the store's queries are served from.
type ReadModel interface {
	Product(ctx context.Context, id int64) (Product, Presence, error)
	Order(ctx context.Context, id int64) (events.Order, Presence, error)
	Products(ctx context.Context, afterID int64, limit int) ([]Product, error)
	ProductsByID(ctx context.Context, ids []int64) ([]Product, error)
	LowStock(ctx context.Context, threshold int32, limit int) ([]Product, error)
}

// Limits on input values.
const (
	MaxNameLen     = 100
	MaxEmailLen    = 255
	MaxSKULen      = 64
	MaxStock       = 1_000_000_000
	MaxItemQty     = 1_000_000
	MaxOrderItems  = 100
	MaxReportLimit = 100
)

// Queries are the store database's generated queries, bound to a
// transaction or not, and the statements of as many rows as a command has
// (rows.go), which sqlc cannot compile.
type Queries struct {
	*storedb.Queries
	db txn.Execer // what the queries run on: the database, or a transaction
}

// WithTx binds the queries to tx.
func (q Queries) WithTx(tx *sql.Tx) Queries { return Queries{q.Queries.WithTx(tx), tx} }

// DB is the store database: its prepared queries, and the platform's outbox and inbox.
type DB = txn.DB[Queries]

// Prepare prepares every store query, and the outbox's, once on db.
func Prepare(ctx context.Context, db *sql.DB) (*DB, error) {
	if err := checkConsecutiveIDs(ctx, db); err != nil {
		return nil, err
	}
	return txn.Prepare(ctx, db, func(ctx context.Context, db *sql.DB) (Queries, error) {
		q, err := storedb.Prepare(ctx, db)
		return Queries{q, db}, err
	})
}

// Service holds the store's use cases.
type Service struct {
	db      *DB
	reads   ReadModel
	creates orderGroups // orders being created, committed in groups
	open    openOrders  // the orders under way, which bound new ones
}

// New returns a Service writing to db and reading from reads.
func New(db *DB, reads ReadModel) *Service {
	return &Service{db: db, reads: reads}
}

// exec runs fn in one transaction that also writes the events fn returns.
func (s *Service) exec(ctx context.Context, fn func(q Queries) ([]outbox.Event, error)) error {
	return s.db.Exec(ctx, fn)
}

func event(topic string, key int64, typ string, payload any) ([]outbox.Event, error) {
	e, err := outbox.New(topic, fmt.Sprint(key), typ, payload)
	if err != nil {
		return nil, err
	}
	return []outbox.Event{e}, nil
}

// maxProjectionWait bounds how long a delete waits for the read side.
const maxProjectionWait = 2 * time.Second

// awaitGone waits until presence finds the tombstone of an entity a command
// has just deleted, so the client that deleted it reads its own write: only
// the projector writes the read side, from the deletion's event. It gives up
// after maxProjectionWait, or when ctx ends.
func (s *Service) awaitGone(ctx context.Context, presence func(context.Context) (Presence, error)) {
	ctx, cancel := context.WithTimeout(ctx, maxProjectionWait)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if p, err := presence(ctx); err != nil || p == Deleted {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
