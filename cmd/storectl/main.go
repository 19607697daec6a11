// Command storectl is the operators' tool: it migrates the service databases,
// registers the Debezium connectors, seeds demo data and rebuilds read models.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	schema "github.com/store-manager/store-manager/sql"
)

const usage = `usage: storectl <command> [flags]

commands:
  migrate up|down [service...]   apply or revert migrations (services: store, payments; default both)
  migration new SERVICE NAME [-dir sql]
                                 start a schema change: the next numbered up/down pair in sql/SERVICE
  connectors register [flags]    create the event topics, then create or update the Debezium outbox
                                 connectors and wait until they run
  connectors status              print each connector's state
  connectors delete              delete the instance's connectors (their offsets stay with the worker)
  seed                           add the demo users, products and stock (skips what exists)
  rebuild-cache                  rebuild every Redis read model from MySQL
  status [--json]                 is it healthy? components, connectors, canaries, lag, dead letters,
                                 sagas; exits 1 when something is unhealthy
  reconcile [--json] [-settle D]  compare payments with orders (amounts, paid, void, missing on either
                                 side); exits 1 when they disagree
  incidents [list] [--json]      the open money incidents: payment events the saga could not apply;
                                 exits 1 while one is open
  incidents resolve ID NOTE...   close an incident with what was done about it
  dlq list|show|replay [TOPIC [PARTITION:OFFSET...]]
                                 work the dead letters: list them, show one, replay chosen ones
  supervise [-metrics ADDR] [-stack SCRIPT]
                                 keep the connectors relaying: canaries, restarts, worker restarts
  instance env                   the instance's environment, as shell assignments
  instance addr SERVICE K        where replica K of a service listens
  instance process NAME [K]      the pid and log name of a component (replica K of a service)
  instance targets DIR NAME ADDR...
                                 list a component's addresses for Prometheus in DIR
  instance urls                  where the instance's parts answer
  instance names                 the named instances the stack can run beside the default one

settings come from the environment: STACK_NAMESPACE (the instance: none or "test"),
STORE_DB_DSN, PAYMENTS_DB_DSN, REDIS_ADDR, KAFKA_BROKERS, KAFKA_CONNECT_URL
(defaults: the native stack on loopback)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, errUnhealthy) {
			os.Exit(1)
		}
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		slog.Error("storectl failed", "err", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	cfg := config.Load()
	inst, err := config.CurrentInstance()
	if err != nil {
		return err
	}
	switch args[0] {
	case "migrate":
		return migrateCmd(cfg, args[1:])
	case "migration":
		return migrationCmd(args[1:])
	case "connectors":
		return connectorsCmd(ctx, cfg, args[1:])
	case "seed":
		return seedCmd(ctx, cfg)
	case "rebuild-cache":
		return rebuildCmd(ctx, cfg)
	case "supervise":
		return superviseCmd(ctx, cfg, inst, args[1:])
	case "status":
		return statusCmd(ctx, cfg, inst, args[1:])
	case "dlq":
		return dlqCmd(ctx, cfg, args[1:])
	case "instance":
		return instanceCmd(inst, args[1:])
	case "reconcile":
		return reconcileCmd(ctx, cfg, args[1:])
	case "incidents":
		return incidentsCmd(ctx, cfg, args[1:])
	default:
		return errUsage
	}
}

func migrateCmd(cfg config.Stack, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	services := args[1:]
	if len(services) == 0 {
		services = schema.Services
	}
	dsn := map[string]string{"store": cfg.StoreDSN, "payments": cfg.PaymentsDSN}
	for _, svc := range services {
		var err error
		switch args[0] {
		case "up":
			err = schema.Up(dsn[svc], svc)
		case "down":
			err = schema.Down(dsn[svc], svc)
		default:
			return errUsage
		}
		if err != nil {
			return err
		}
		v, _, err := schema.Version(dsn[svc], svc)
		if err != nil {
			return err
		}
		slog.Info("migrated", "service", svc, "direction", args[0], "version", v)
	}
	return nil
}

// migrationCmd starts a schema change: the next numbered pair of
// migrations of a service, written into the source tree (sql/SERVICE).
func migrationCmd(args []string) error {
	fs := flag.NewFlagSet("migration", flag.ContinueOnError)
	dir := fs.String("dir", "sql", "the folder of every service's migrations")
	if len(args) < 3 || args[0] != "new" {
		return errUsage
	}
	if err := fs.Parse(args[3:]); err != nil {
		return errUsage
	}
	service, name := args[1], args[2]
	if !slices.Contains(schema.Services, service) {
		return fmt.Errorf("%w: %q (services: %s)", schema.ErrUnknownService, service, strings.Join(schema.Services, ", "))
	}
	up, down, err := schema.CreateMigration(filepath.Join(*dir, service), name)
	if err != nil {
		return err
	}
	fmt.Printf("%s\n%s\n", up, down)
	return nil
}

// kafkaBrokers are the brokers given to the connectors, or the configured ones.
func kafkaBrokers(cfg config.Stack, o connectors.Overrides) string {
	if o.KafkaBrokers != "" {
		return o.KafkaBrokers
	}
	return cfg.KafkaBrokers
}

func connectorsCmd(ctx context.Context, cfg config.Stack, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet("connectors", flag.ContinueOnError)
	var o connectors.Overrides
	fs.StringVar(&o.ConnectorClass, "connector-class", "", "connector class (default: the files' MariaDB connector; io.debezium.connector.mysql.MySqlConnector for MySQL)")
	fs.StringVar(&o.DatabaseHost, "db-host", "", "database host the connectors read (default: the files' value)")
	fs.StringVar(&o.DatabasePort, "db-port", "", "database port the connectors read")
	fs.StringVar(&o.KafkaBrokers, "kafka", "", "Kafka bootstrap servers for the schema history")
	o.Set = map[string]string{}
	fs.Func("set", "KEY=VALUE: set one more connector config key (repeatable)", func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		o.Set[k] = val
		return nil
	})
	wait := fs.Duration("wait", 90*time.Second, "how long to wait for the connectors to run")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	all, err := connectors.ForStack(cfg)
	if err != nil {
		return err
	}
	client := connectors.NewClient(cfg.ConnectURL)
	switch args[0] {
	case "register":
		topics := make([]string, len(events.Topics))
		for i, t := range events.Topics {
			topics[i] = cfg.Topic(t)
		}
		if err := consumer.EnsureTopics(ctx, kafkaBrokers(cfg, o), topics, 3); err != nil {
			return err
		}
		for _, c := range all {
			if err := client.Register(ctx, o.Apply(c)); err != nil {
				return err
			}
		}
		wctx, cancel := context.WithTimeout(ctx, *wait)
		defer cancel()
		for _, c := range all {
			s, err := client.WaitRunning(wctx, c.Name)
			if err != nil && s.PositionLost() {
				slog.Warn("the connector's binlog position is gone: resetting its offsets to read the outbox again", "name", c.Name)
				if err = client.ResetOffsets(wctx, c.Name); err == nil {
					_, err = client.WaitRunning(wctx, c.Name)
				}
			}
			if err != nil {
				return err
			}
			slog.Info("connector running", "name", c.Name)
		}
		return nil
	case "delete":
		// The instance's connectors only; their offsets stay with the worker, so
		// registering them again resumes where they stopped.
		registered, err := client.List(ctx)
		if err != nil {
			return err
		}
		for _, c := range all {
			if !slices.Contains(registered, c.Name) {
				continue
			}
			if err := client.Delete(ctx, c.Name); err != nil {
				return err
			}
			slog.Info("connector deleted", "name", c.Name)
		}
		return nil
	case "status":
		for _, c := range all {
			s, err := client.Status(ctx, c.Name)
			if err != nil {
				return err
			}
			fmt.Printf("%-18s connector=%s tasks=%d running=%t\n", c.Name, s.Connector.State, len(s.Tasks), s.Running())
		}
		return nil
	default:
		return errUsage
	}
}

// printJSON writes v to standard output as indented JSON, as every --json does.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
