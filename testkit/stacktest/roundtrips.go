package stacktest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// RoundTrips counts the requests a client sent to MariaDB or Redis: each
// statement, prepare, begin, commit and rollback, and each Redis command or
// pipeline, is one.
type RoundTrips struct {
	n    atomic.Int64
	mu   sync.Mutex
	last []string // the latest round trips' statements, for a failure's message
}

// Count is the round trips so far.
func (r *RoundTrips) Count() int64 { return r.n.Load() }

// Take returns what the latest round trips (at most 16) sent since the
// last Take, oldest first.
func (r *RoundTrips) Take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.last
	r.last = nil
	return out
}

// add counts one round trip, for what.
func (r *RoundTrips) add(what string) {
	r.n.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(what) > 80 {
		what = what[:80]
	}
	r.last = append(r.last, what)
	if len(r.last) > 16 {
		r.last = r.last[1:]
	}
}

// OpenCounted opens dsn as the services do (server.OpenDB: statements that
// are not prepared are interpolated by the driver), counting its round trips.
func OpenCounted(t testing.TB, dsn string) (*sql.DB, *RoundTrips) {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", dsn, err)
	}
	cfg.InterpolateParams = true
	base, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatalf("connector: %v", err)
	}
	rt := &RoundTrips{}
	db := sql.OpenDB(countingConnector{Connector: base, rt: rt})
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("ping database: %v (is the stack running? `make stack`)", err)
	}
	return db, rt
}

// CountRedis counts rdb's round trips from now on.
func CountRedis(rdb *redis.Client) *RoundTrips {
	rt := &RoundTrips{}
	rdb.AddHook(redisCounter{rt})
	return rt
}

type redisCounter struct{ rt *RoundTrips }

func (redisCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.rt.add(cmd.Name()); return next(ctx, cmd) }
}

func (h redisCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.rt.add("pipeline"); return next(ctx, cmds) }
}

type countingConnector struct {
	driver.Connector
	rt *RoundTrips
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, rt: c.rt}, nil
}

// countingConn passes every call to the driver's connection, counting those
// that reach the server.
type countingConn struct {
	driver.Conn
	rt *RoundTrips
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.rt.add("prepare " + query)
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: s, rt: c.rt, query: query}, nil
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.rt.add("begin")
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return countingTx{Tx: tx, rt: c.rt}, nil
}

// ExecContext and QueryContext count a call the driver sent; one it skips
// (driver.ErrSkip) goes through PrepareContext, which counts.
func (c *countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.rt.add(query)
	}
	return r, err
}

func (c *countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	if err != driver.ErrSkip {
		c.rt.add(query)
	}
	return r, err
}

func (c *countingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *countingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *countingConn) CheckNamedValue(v *driver.NamedValue) error {
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(v)
}

type countingTx struct {
	driver.Tx
	rt *RoundTrips
}

func (t countingTx) Commit() error   { t.rt.add("commit"); return t.Tx.Commit() }
func (t countingTx) Rollback() error { t.rt.add("rollback"); return t.Tx.Rollback() }

type countingStmt struct {
	driver.Stmt
	rt    *RoundTrips
	query string
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.rt.add("execute " + s.query)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.rt.add("execute " + s.query)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *countingStmt) CheckNamedValue(v *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(v)
	}
	return driver.ErrSkip
}
