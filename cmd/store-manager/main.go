// Command store-manager serves the store's REST and GraphQL APIs and runs its
// Kafka consumers: the Redis projector that keeps the read models, and the
// store's steps of the order saga.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/store-manager/store-manager/api/graphql"
	"github.com/store-manager/store-manager/api/rest"
	"github.com/store-manager/store-manager/services/config"
	"github.com/store-manager/store-manager/services/consumer"
	"github.com/store-manager/store-manager/services/readmodel"
	"github.com/store-manager/store-manager/services/store"
)

// Config is store-manager's configuration, from the environment.
type Config struct {
	Stack           config.Stack
	HTTPAddr        string        // STORE_HTTP_ADDR
	SupplierKey     string        // SUPPLIER_API_KEY
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT
	LogLevel        slog.Level    // LOG_LEVEL
}

func loadConfig() Config {
	var level slog.Level
	_ = level.UnmarshalText([]byte(config.Env("LOG_LEVEL", "INFO")))
	return Config{
		Stack:           config.Load(),
		HTTPAddr:        config.Env("STORE_HTTP_ADDR", "127.0.0.1:5000"),
		SupplierKey:     config.Env("SUPPLIER_API_KEY", graphql.LocalSupplierKey),
		ShutdownTimeout: config.EnvDuration("SHUTDOWN_TIMEOUT", 15*time.Second),
		LogLevel:        level,
	}
}

func main() {
	cfg := loadConfig()
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("store-manager stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	db, err := sql.Open("mysql", cfg.Stack.StoreDSN)
	if err != nil {
		return fmt.Errorf("open store database: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(48)
	db.SetMaxIdleConns(48)
	db.SetConnMaxLifetime(30 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		return fmt.Errorf("reach store database: %w", err)
	}
	queries, err := store.Prepare(ctx, db)
	if err != nil {
		return fmt.Errorf("prepare store queries (is the schema migrated?): %w", err)
	}
	defer queries.Close()

	rdb := redis.NewClient(&redis.Options{Addr: cfg.Stack.RedisAddr, PoolSize: 64, MinIdleConns: 8})
	defer rdb.Close()
	reads := readmodel.New(rdb)
	svc := store.New(db, queries, reads)

	projection := consumer.NewRegistry()
	reads.Register(projection)
	projector, err := consumer.New(consumer.Config{
		Brokers: cfg.Stack.KafkaBrokers, GroupID: "store-manager-projector", Topics: readmodel.ProjectorTopics,
	}, projection, log)
	if err != nil {
		return err
	}

	saga := consumer.NewRegistry()
	svc.RegisterSaga(saga)
	sagaRunner, err := consumer.New(consumer.Config{
		Brokers: cfg.Stack.KafkaBrokers, GroupID: store.SagaConsumer, Topics: store.SagaTopics,
		OnDeadLetter: svc.DeadLetter,
	}, saga, log)
	if err != nil {
		return err
	}

	gql := graphql.NewHandler(&graphql.Resolver{Store: svc}, graphql.Options{SupplierKey: cfg.SupplierKey})
	api := rest.NewStore(svc, gql, map[string]rest.Check{
		"mysql": db.PingContext,
		"redis": func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		"kafka": projector.Healthy,
	})
	srv := &http.Server{
		Addr: cfg.HTTPAddr, Handler: api,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return projector.Run(gctx) })
	g.Go(func() error { return sagaRunner.Run(gctx) })
	g.Go(func() error {
		log.Info("store-manager listening", "addr", cfg.HTTPAddr)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down: finishing in-flight requests")
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}
