package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	storedb "github.com/store-manager/store-manager/db/store"
	"github.com/store-manager/store-manager/operations/sagareport"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/server"
)

// incidentsCmd lists the open money incidents (payment events the saga
// could not apply), or resolves one with what was done about it. Listing
// exits non-zero while any is open.
func incidentsCmd(ctx context.Context, cfg config.Stack, args []string) error {
	db, err := server.OpenDB(ctx, cfg.StoreDSN, 2)
	if err != nil {
		return fmt.Errorf("store database: %w", err)
	}
	defer db.Close()
	q := storedb.New(db)
	switch {
	case len(args) == 0 || args[0] == "list" || args[0] == "--json":
		open, err := sagareport.New(q, nil).Incidents(ctx, 100)
		if err != nil {
			return err
		}
		if len(args) > 0 && args[len(args)-1] == "--json" {
			if open == nil {
				open = []sagareport.Incident{}
			}
			if err := printJSON(open); err != nil {
				return err
			}
		} else {
			for _, i := range open {
				fmt.Println(i)
			}
			fmt.Printf("%d open incidents\n", len(open))
		}
		if len(open) > 0 {
			return errUnhealthy
		}
		return nil
	case args[0] == "resolve" && len(args) >= 3:
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || id < 1 {
			return errUsage
		}
		note := strings.Join(args[2:], " ")
		if len(note) > 512 {
			return fmt.Errorf("the note is %d bytes: at most 512", len(note))
		}
		n, err := q.ResolveIncident(ctx, storedb.ResolveIncidentParams{ID: id, Resolution: sql.NullString{String: note, Valid: true}})
		if err != nil {
			return fmt.Errorf("resolve incident %d: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("incident %d is not open", id)
		}
		fmt.Printf("incident %d resolved\n", id)
		return nil
	}
	return errUsage
}
