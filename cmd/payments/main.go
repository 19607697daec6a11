// Command payments serves the payments REST API and runs the payments step
// of the order saga as a Kafka consumer.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/api/paymentsapi"
	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/money"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/server"
)

// Config is the payments service's configuration, from the environment.
type Config struct {
	Stack           config.Stack
	HTTPAddr        string        // PAYMENTS_HTTP_ADDR
	LinkBase        string        // PAYMENT_LINK_BASE: the gateway's public URL
	ServiceKey      string        // PAYMENTS_SERVICE_KEY: POST /payments needs it
	MaxAmount       money.Cents   // PAYMENT_MAX_AMOUNT
	OutboxRetention time.Duration // OUTBOX_RETENTION: how long captured outbox rows are kept
	InboxRetention  time.Duration // INBOX_RETENTION: how long records of applied events are kept
	MaxInFlight     int           // MAX_IN_FLIGHT: requests worked on at once; the others are answered 503
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT
}

func loadConfig() (Config, error) {
	var r config.Reader
	inst := r.Instance()
	max, err := money.Parse(config.Env("PAYMENT_MAX_AMOUNT", "10000.00"))
	r.Check("PAYMENT_MAX_AMOUNT", err)
	cfg := Config{
		Stack:           config.Load(),
		HTTPAddr:        inst.PaymentsAddr(),
		LinkBase:        config.Env("PAYMENT_LINK_BASE", inst.GatewayURL()),
		ServiceKey:      config.Env("PAYMENTS_SERVICE_KEY", paymentsapi.LocalServiceKey),
		MaxAmount:       max,
		OutboxRetention: r.Duration("OUTBOX_RETENTION", 72*time.Hour),
		InboxRetention:  r.Duration("INBOX_RETENTION", 8*24*time.Hour),
		MaxInFlight:     r.Count("MAX_IN_FLIGHT", server.DefaultMaxInFlight),
		ShutdownTimeout: r.Duration("SHUTDOWN_TIMEOUT", 15*time.Second),
	}
	return cfg, r.Err()
}

func main() {
	cfg, err := loadConfig()
	server.Main("payments", err, func(ctx context.Context, log *slog.Logger) error { return run(ctx, cfg, log) })
}

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	db, err := server.OpenDB(ctx, cfg.Stack.PaymentsDSN, 32)
	if err != nil {
		return fmt.Errorf("payments database: %w", err)
	}
	defer db.Close()
	prometheus.MustRegister(collectors.NewDBStatsCollector(db, "payments"))
	queries, err := payments.Prepare(ctx, db)
	if err != nil {
		return fmt.Errorf("prepare payments queries (is the schema migrated?): %w", err)
	}
	defer queries.Close()
	svc := payments.New(queries, payments.Config{MaxAmount: cfg.MaxAmount, LinkBase: cfg.LinkBase})

	saga := consumer.NewRegistry()
	svc.RegisterSaga(saga)
	runner, err := consumer.New(consumer.Config{
		Brokers: cfg.Stack.KafkaBrokers, GroupID: cfg.Stack.Group(payments.SagaConsumer), Topics: payments.SagaTopics,
		TopicPrefix:  cfg.Stack.Topic(""),
		OnDeadLetter: svc.DeadLetter,
		Batch:        queries.Batch, // the events waiting in a partition, in one transaction
	}, saga, log)
	if err != nil {
		return err
	}
	api := paymentsapi.New(svc, map[string]httpkit.Check{"mysql": db.PingContext, "kafka": runner.Healthy}, paymentsapi.ServiceKey(cfg.ServiceKey))
	srv := server.NewHTTP(cfg.HTTPAddr, api, cfg.MaxInFlight)
	janitor := func(ctx context.Context) error {
		return outbox.Janitor(ctx, log, outbox.Retention{Outbox: cfg.OutboxRetention, Inbox: cfg.InboxRetention}, 5*time.Minute, queries)
	}
	return server.Run(ctx, log, srv, cfg.ShutdownTimeout, runner.Run, janitor)
}
