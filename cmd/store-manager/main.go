// Command store-manager serves the store's REST and GraphQL APIs and runs its
// Kafka consumers: the Redis projector that keeps the read models, and the
// store's steps of the order saga.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/store-manager/store-manager/api/graphql"
	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/api/storeapi"
	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/operations/console"
	"github.com/store-manager/store-manager/operations/sagareport"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/outbox"
	"github.com/store-manager/store-manager/services/platform/server"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
)

// Config is store-manager's configuration, from the environment.
type Config struct {
	Stack           config.Stack
	HTTPAddr        string             // STORE_HTTP_ADDR
	Suppliers       []graphql.Supplier // SUPPLIER_API_KEYS (name=key,…), or the one SUPPLIER_API_KEY
	GraphQLQueries  graphql.QueryMode  // GRAPHQL_QUERIES: open (any query, and APQ) or allowlist
	EmployeeKey     string             // EMPLOYEE_API_KEY: employees' routes need it
	EmployeeAuth    bool               // EMPLOYEE_AUTH: off opens employees' routes (but PUT /orders), on a loopback address only
	OutboxRetention time.Duration      // OUTBOX_RETENTION: how long captured outbox rows are kept
	InboxRetention  time.Duration      // INBOX_RETENTION: how long records of applied events are kept
	SagaDeadline    time.Duration      // SAGA_DEADLINE: a saga not ended this long after its order is cancelled
	OperatorKey     string             // OPERATOR_API_KEY: the operations console (/ops) needs it
	SupervisorURL   string             // SUPERVISOR_METRICS_ADDR: the connector supervisor's metrics, for canary ages
	ConnectMetrics  string             // CONNECT_METRICS_URL: the Connect workers' metrics, for Debezium's lag
	KafkaMetrics    string             // KAFKA_METRICS_URL: the Kafka nodes' metrics, for their health
	TracesURL       string             // ZIPKIN_URL: the trace backend, which the console links each order to
	MaxInFlight     int                // MAX_IN_FLIGHT: requests worked on at once; the others are answered 503
	MaxOpenOrders   int                // MAX_OPEN_ORDERS: new orders are answered 503 while this many are under way
	ShutdownTimeout time.Duration      // SHUTDOWN_TIMEOUT
}

func loadConfig() (Config, error) {
	var r config.Reader
	inst := r.Instance()
	cfg := Config{
		Stack:           config.Load(),
		HTTPAddr:        inst.StoreAddr(),
		GraphQLQueries:  graphql.QueryMode(config.Env("GRAPHQL_QUERIES", string(graphql.QueriesOpen))),
		EmployeeKey:     config.Env("EMPLOYEE_API_KEY", storeapi.LocalEmployeeKey),
		EmployeeAuth:    r.Bool("EMPLOYEE_AUTH", true),
		OutboxRetention: r.Duration("OUTBOX_RETENTION", 72*time.Hour),
		InboxRetention:  r.Duration("INBOX_RETENTION", 8*24*time.Hour),
		SagaDeadline:    r.Duration("SAGA_DEADLINE", 10*time.Minute),
		OperatorKey:     config.Env("OPERATOR_API_KEY", console.LocalOperatorKey),
		SupervisorURL:   "http://" + inst.SupervisorAddr() + "/metrics",
		ConnectMetrics:  inst.ConnectMetricsURL(),
		KafkaMetrics:    inst.KafkaMetricsURL(),
		TracesURL:       inst.ZipkinURL(),
		MaxInFlight:     r.Count("MAX_IN_FLIGHT", server.DefaultMaxInFlight),
		MaxOpenOrders:   r.Count("MAX_OPEN_ORDERS", store.DefaultMaxOpenOrders),
		ShutdownTimeout: r.Duration("SHUTDOWN_TIMEOUT", 15*time.Second),
	}
	var err error
	cfg.Suppliers, err = suppliers(config.Env("SUPPLIER_API_KEYS", ""), config.Env("SUPPLIER_API_KEY", graphql.LocalSupplierKey))
	r.Check("SUPPLIER_API_KEYS", err)
	if cfg.GraphQLQueries != graphql.QueriesOpen && cfg.GraphQLQueries != graphql.QueriesAllowlist {
		r.Check("GRAPHQL_QUERIES", fmt.Errorf("want %q or %q, not %q", graphql.QueriesOpen, graphql.QueriesAllowlist, cfg.GraphQLQueries))
	}
	if !cfg.EmployeeAuth && !config.Loopback(cfg.HTTPAddr) {
		r.Check("EMPLOYEE_AUTH", fmt.Errorf("off is allowed only when STORE_HTTP_ADDR is a loopback address, not %q", cfg.HTTPAddr))
	}
	return cfg, r.Err()
}

// suppliers reads SUPPLIER_API_KEYS, a comma-separated list of name=key;
// when it is empty, the one supplier "default" sends single.
func suppliers(list, single string) ([]graphql.Supplier, error) {
	if strings.TrimSpace(list) == "" {
		return []graphql.Supplier{{Name: graphql.DefaultSupplier, Key: single}}, nil
	}
	var out []graphql.Supplier
	names, keys := map[string]bool{}, map[string]bool{}
	for _, item := range strings.Split(list, ",") {
		name, key, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || name == "" || len(name) > 64 || key == "" {
			return nil, fmt.Errorf("want name=key pairs separated by commas (names of at most 64 characters), not %q", item)
		}
		if names[name] || keys[key] {
			return nil, fmt.Errorf("supplier %q: every name and every key appears once", name)
		}
		names[name], keys[key] = true, true
		out = append(out, graphql.Supplier{Name: name, Key: key})
	}
	return out, nil
}

func main() {
	cfg, err := loadConfig()
	server.Main("store-manager", err, func(ctx context.Context, log *slog.Logger) error { return run(ctx, cfg, log) })
}

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	db, err := server.OpenDB(ctx, cfg.Stack.StoreDSN, 48)
	if err != nil {
		return fmt.Errorf("store database: %w", err)
	}
	defer db.Close()
	prometheus.MustRegister(collectors.NewDBStatsCollector(db, "store"))
	queries, err := store.Prepare(ctx, db)
	if err != nil {
		return fmt.Errorf("prepare store queries (is the schema migrated?): %w", err)
	}
	defer queries.Close()

	// The read models' values are small (an order's JSON is under a
	// kilobyte): 4 KiB buffers per connection instead of 32 KiB each way, and
	// 16 KiB for the pipelines of batched reads instead of 128 KiB. No Redis
	// here sends maintenance notifications (a Redis Cloud feature), so the
	// client does not ask for them on every new connection.
	rdb := redis.NewClient(&redis.Options{
		Addr: cfg.Stack.RedisAddr, Password: cfg.Stack.RedisPassword, PoolSize: 64, MinIdleConns: 8,
		ReadBufferSize: 4 << 10, WriteBufferSize: 4 << 10, PipelineReadBufferSize: 16 << 10, PipelineWriteBufferSize: 16 << 10,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	defer rdb.Close()
	// The read models' commands, not a new connection's handshake (HELLO, AUTH).
	handshake := func(cmd redis.Cmder) bool {
		return strings.EqualFold(cmd.Name(), "hello") || redisotel.DefaultCommandFilter(cmd)
	}
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithDialFilter(true), redisotel.WithCommandFilter(handshake),
		redisotel.WithCallerEnabled(false)); err != nil {
		return fmt.Errorf("trace redis: %w", err)
	}
	reads := readmodel.New(rdb, cfg.Stack.RedisPrefix())
	batched, err := rdb.AutoPipeline()
	if err != nil {
		return fmt.Errorf("redis pipelines: %w", err)
	}
	reads.BatchReads(batched)
	svc := store.New(queries, reads)
	svc.LimitOpenOrders(int64(cfg.MaxOpenOrders))

	projection := consumer.NewRegistry()
	reads.Register(projection)
	projector, err := consumer.New(consumer.Config{
		Brokers: cfg.Stack.KafkaBrokers, GroupID: cfg.Stack.Group(events.GroupProjector), Topics: readmodel.ProjectorTopics,
		TopicPrefix: cfg.Stack.Topic(""),
	}, projection, log)
	if err != nil {
		return err
	}

	saga := consumer.NewRegistry()
	svc.RegisterSaga(saga)
	sagaRunner, err := consumer.New(consumer.Config{
		Brokers: cfg.Stack.KafkaBrokers, GroupID: cfg.Stack.Group(store.SagaConsumer), Topics: store.SagaTopics,
		TopicPrefix:  cfg.Stack.Topic(""),
		OnDeadLetter: svc.DeadLetter,
		Batch:        queries.Batch, // the events waiting in a partition, in one transaction
	}, saga, log)
	if err != nil {
		return err
	}

	feed := reads.NewFeed(readmodel.FeedLimits{}, log)
	prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "graphql_subscriptions", Help: "Suppliers' GraphQL subscriptions this process holds.",
	}, func() float64 { return float64(feed.Subscribers()) }))
	gql, err := graphql.NewHandler(&graphql.Resolver{Store: svc, Feed: feed}, graphql.Options{Suppliers: cfg.Suppliers, Queries: cfg.GraphQLQueries})
	if err != nil {
		return err
	}
	api := storeapi.New(svc, gql, map[string]httpkit.Check{
		"mysql": db.PingContext,
		"redis": func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		"kafka": projector.Healthy,
	}, storeapi.Access{Employee: storeapi.EmployeeKey(cfg.EmployeeKey), Open: !cfg.EmployeeAuth})
	if !cfg.EmployeeAuth {
		log.Warn("EMPLOYEE_AUTH=off: employees' routes answer without the employee key (loopback only, for the original's labs)")
	}
	pipeline, err := connectors.ForStack(cfg.Stack)
	if err != nil {
		return err
	}
	reports := sagareport.New(queries.Queries(), svc)
	ops := console.New(console.Config{
		Stack: cfg.Stack, Store: svc, Sagas: reports, Connectors: pipeline, SupervisorMetrics: cfg.SupervisorURL, ConnectMetrics: cfg.ConnectMetrics,
		KafkaMetrics: strings.Split(cfg.KafkaMetrics, ","),
		Groups: map[string][]string{
			events.GroupProjector:    readmodel.ProjectorTopics,
			store.SagaConsumer:       store.SagaTopics,
			events.GroupPaymentsSaga: {events.TopicOrders}, // the payments service's group
		},
		OperatorKey: cfg.OperatorKey, TracesURL: cfg.TracesURL, Log: log,
	})
	routes := http.NewServeMux()
	routes.Handle("/ops", ops)
	routes.Handle("/ops/", ops)
	routes.Handle("/", api)
	srv := server.NewHTTP(cfg.HTTPAddr, routes, cfg.MaxInFlight)
	janitor := func(ctx context.Context) error {
		return outbox.Janitor(ctx, log, outbox.Retention{Outbox: cfg.OutboxRetention, Inbox: cfg.InboxRetention}, 5*time.Minute, queries)
	}
	sagas := func(ctx context.Context) error { return reports.Export(ctx, 15*time.Second) }
	deadlines := func(ctx context.Context) error {
		return svc.ExpireSagas(ctx, cfg.SagaDeadline, min(max(cfg.SagaDeadline/10, time.Second), 30*time.Second))
	}
	return server.Run(ctx, log, srv, cfg.ShutdownTimeout, projector.Run, sagaRunner.Run, feed.Run, janitor, sagas, deadlines)
}
