package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/operations/reconcile"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/server"
)

// workerName is the stack's name of the Connect worker whose REST address
// is workerID: the first worker when none of the instance's has it (the
// cluster could not say).
func workerName(inst config.Instance, workerID string) string {
	if name, ok := inst.ConnectWorker(workerID); ok {
		return name
	}
	return inst.Replica("connect", 1)
}

// superviseCmd keeps the stack's connectors relaying until it is stopped:
// canaries through each outbox, restarts of failed or stalled connectors,
// then of the Connect worker (through the stack script), with backoff. It
// also compares payments with orders every minute (storectl reconcile),
// less often when a comparison takes more than 1 % of the time.
func superviseCmd(ctx context.Context, cfg config.Stack, inst config.Instance, args []string) error {
	fs := flag.NewFlagSet("supervise", flag.ContinueOnError)
	metricsAddr := fs.String("metrics", inst.SupervisorAddr(), "address of the supervisor's /metrics")
	stackScript := fs.String("stack", os.Getenv("STACK_SCRIPT"), "the stack script, to restart the Connect worker (none: never restart it)")
	interval := fs.Duration("interval", 2*time.Second, "how often connectors are checked and canaries written")
	late := fs.Duration("late", 15*time.Second, "a canary older than this means a stalled relay")
	reconcileEvery := fs.Duration("reconcile", time.Minute, "how often payments and orders are compared (reconcile_disagreements)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	all, err := connectors.ForStack(cfg)
	if err != nil {
		return err
	}
	dsn := map[string]string{connectors.StoreOutbox: cfg.StoreDSN, connectors.PaymentsOutbox: cfg.PaymentsDSN}
	outboxes := map[string]*sql.DB{}
	databases := map[string]*sql.DB{} // by connector base name: the canaries' and the reconciliation's
	var names []string
	for _, c := range all {
		db, err := server.OpenDB(ctx, dsn[c.Base], 2)
		if err != nil {
			return fmt.Errorf("the database of %s: %w", c.Name, err)
		}
		defer db.Close()
		outboxes[c.Name], databases[c.Base] = db, db
		names = append(names, c.Name)
	}
	log := slog.Default().With("component", "connect-supervisor", "namespace", cfg.Namespace)
	canary := &connectors.Canary{
		Brokers: cfg.KafkaBrokers, Topic: cfg.Topic(connectors.CanaryTopic), Group: cfg.Group("connect-supervisor"),
		Outboxes: outboxes, Log: log,
	}
	sup := &connectors.Supervisor{
		Client: connectors.NewClient(cfg.ConnectURL), Connectors: names, Canary: canary.Age, Log: log,
		Policy: connectors.Policy{Late: *late, RestartsBefore: 3, WorkersBeforeUp: 2},
		RestartWorker: func(ctx context.Context, workerID string) error {
			if *stackScript == "" {
				return errors.New("no stack script to restart the worker with")
			}
			// Stopped meanwhile: the script and what it waits on end with the supervisor.
			cmd := exec.CommandContext(ctx, "bash", *stackScript, "restart", workerName(inst, workerID))
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("restart the Connect worker: %w: %s", err, out)
			}
			return nil
		},
	}
	srv := &http.Server{Addr: *metricsAddr, Handler: promhttp.Handler(), ReadHeaderTimeout: 5 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return canary.Run(gctx, *interval) })
	g.Go(func() error { return sup.Run(gctx, *interval) })
	g.Go(func() error {
		return reconcile.Watch(gctx, log, *reconcileEvery, func(ctx context.Context) ([]reconcile.Disagreement, error) {
			return reconcileOnce(ctx, databases[connectors.PaymentsOutbox], databases[connectors.StoreOutbox], time.Minute)
		})
	})
	g.Go(func() error {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error { <-gctx.Done(); return srv.Shutdown(context.Background()) })
	log.Info("supervising", "connectors", names, "metrics", *metricsAddr)
	return g.Wait()
}
