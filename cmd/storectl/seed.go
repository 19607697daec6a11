package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/server"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
)

// The original's demo data.
var (
	demoUsers = []struct{ name, email string }{
		{"Ada Lovelace", "alovelace@example.com"},
		{"Adele Goldberg", "agoldberg@example.com"},
		{"Alan Turing", "aturing@example.com"},
	}
	demoProducts = []struct {
		name, sku, price string
		stock            int64
	}{
		{"Laptop ABC", "LP12567", "1999.99", 1000},
		{"Keyboard DEF", "KB67890", "59.50", 500},
		{"Gadget XYZ", "GG12345", "5.75", 2},
		{"27-inch Screen WYZ", "SC27289", "299.75", 90},
	}
)

// openStore opens the store database and its service, for commands that use
// the store's use cases. reads may be nil for commands that only write.
func openStore(ctx context.Context, cfg config.Stack, reads store.ReadModel) (*store.Service, func(), error) {
	db, err := server.OpenDB(ctx, cfg.StoreDSN, 4)
	if err != nil {
		return nil, nil, fmt.Errorf("store database: %w", err)
	}
	q, err := store.Prepare(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("prepare store queries (is the schema migrated?): %w", err)
	}
	return store.New(q, reads), func() { q.Close(); db.Close() }, nil
}

// seedCmd adds the demo data through the store's commands, so their events
// reach the read models like any other change. What exists already is kept.
func seedCmd(ctx context.Context, cfg config.Stack) error {
	svc, closeFn, err := openStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer closeFn()
	for _, u := range demoUsers {
		id, err := svc.CreateUser(ctx, u.name, u.email)
		switch {
		case errors.Is(err, store.ErrConflict):
			slog.Info("seed: user exists", "email", u.email)
		case err != nil:
			return fmt.Errorf("seed user %s: %w", u.email, err)
		default:
			slog.Info("seed: user added", "id", id, "email", u.email)
		}
	}
	for _, p := range demoProducts {
		id, err := svc.CreateProduct(ctx, p.name, p.sku, p.price)
		if errors.Is(err, store.ErrConflict) {
			slog.Info("seed: product exists", "sku", p.sku)
			continue
		}
		if err != nil {
			return fmt.Errorf("seed product %s: %w", p.sku, err)
		}
		if _, err := svc.SetStock(ctx, id, p.stock); err != nil {
			return fmt.Errorf("seed stock of %s: %w", p.sku, err)
		}
		slog.Info("seed: product added", "id", id, "sku", p.sku, "stock", p.stock)
	}
	return nil
}

// rebuildCmd rebuilds every Redis read model from the store database.
func rebuildCmd(ctx context.Context, cfg config.Stack) error {
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword})
	defer rdb.Close()
	rm := readmodel.New(rdb, cfg.RedisPrefix())
	svc, closeFn, err := openStore(ctx, cfg, rm)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := rm.Rebuild(ctx, svc); err != nil {
		return err
	}
	slog.Info("read models rebuilt from the store database")
	return nil
}
