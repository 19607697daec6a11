// Command persistquery registers GraphQL queries in the persisted-query
// manifest committed with the schema (api/graphql/persisted/queries.json),
// the allowlist of GRAPHQL_QUERIES=allowlist. Each file holds one named
// operation; it is validated against the schema and sent by clients by its
// SHA-256, which the command prints.
//
//	persistquery [-manifest api/graphql/persisted/queries.json] FILE.graphql...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/store-manager/store-manager/api/graphql"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "persistquery:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("persistquery", flag.ContinueOnError)
	path := fs.String("manifest", "api/graphql/"+graphql.ManifestPath, "the manifest to update")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("name at least one .graphql file")
	}
	raw, err := os.ReadFile(*path)
	if err != nil {
		return err
	}
	m, err := graphql.ParseManifest(raw)
	if err != nil {
		return err
	}
	for _, file := range fs.Args() {
		body, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		op, err := m.Register(strings.TrimSpace(string(body)))
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		fmt.Printf("%s %s %s\n", op.ID, op.Type, op.Name)
	}
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(*path, append(out, '\n'), 0o644)
}
