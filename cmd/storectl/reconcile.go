package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"time"

	paymentsdb "github.com/store-manager/store-manager/db/payments"
	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/operations/reconcile"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/server"
)

// reconcileCmd compares the payments database with the store's, prints
// every disagreement, and exits non-zero when there is one.
func reconcileCmd(ctx context.Context, cfg config.Stack, args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	settle := fs.Duration("settle", time.Minute, "leave out what changed this recently: its saga may still be under way")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	pdb, err := server.OpenDB(ctx, cfg.PaymentsDSN, 2)
	if err != nil {
		return fmt.Errorf("payments database: %w", err)
	}
	defer pdb.Close()
	sdb, err := server.OpenDB(ctx, cfg.StoreDSN, 2)
	if err != nil {
		return fmt.Errorf("store database: %w", err)
	}
	defer sdb.Close()
	found, err := reconcileOnce(ctx, pdb, sdb, *settle)
	if err != nil {
		return err
	}
	if *asJSON {
		if found == nil {
			found = []reconcile.Disagreement{}
		}
		if err := printJSON(found); err != nil {
			return err
		}
	} else {
		for _, d := range found {
			fmt.Println(d)
		}
		fmt.Printf("%d disagreements between payments and orders (leaving out the last %s)\n", len(found), *settle)
	}
	if len(found) > 0 {
		return errUnhealthy
	}
	return nil
}

// reconcileOnce reads both databases and compares them, leaving out what
// changed in the last settle.
func reconcileOnce(ctx context.Context, pdb, sdb *sql.DB, settle time.Duration) ([]reconcile.Disagreement, error) {
	return reconcile.Reconcile(ctx, paymentsdb.New(pdb), storedb.New(sdb), time.Now().Add(-settle))
}
