package schema_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	schema "github.com/store-manager/store-manager/sql"
)

func TestCreateMigration(t *testing.T) {
	cases := []struct {
		name     string
		existing []string
		create   string
		want     []string // the pair written, or nil when refused
		err      error
	}{
		{"the first", nil, "init", []string{"000001_init.up.sql", "000001_init.down.sql"}, nil},
		{"the next number", []string{"000001_init.up.sql", "000001_init.down.sql", "000004_idx.up.sql", "000004_idx.down.sql", "README"},
			"add_order_note", []string{"000005_add_order_note.up.sql", "000005_add_order_note.down.sql"}, nil},
		{"a name that exists", []string{"000001_init.up.sql", "000001_init.down.sql"}, "init", nil, schema.ErrMigrationExists},
		{"two migrations of one number", []string{"000002_a.up.sql", "000002_a.down.sql", "000002_b.up.sql", "000002_b.down.sql"},
			"c", nil, schema.ErrMigrationExists},
		{"a name with capitals", nil, "AddNote", nil, nil},
		{"a name with a path", nil, "../x", nil, nil},
		{"an empty name", nil, "", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.existing {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			up, down, err := schema.CreateMigration(dir, tc.create)
			if tc.want == nil {
				if err == nil || tc.err != nil && !errors.Is(err, tc.err) {
					t.Fatalf("CreateMigration(%q) = %v, want a refusal (%v)", tc.create, err, tc.err)
				}
				entries, _ := os.ReadDir(dir)
				if len(entries) != len(tc.existing) {
					t.Fatalf("a refused migration left %d files, want %d", len(entries), len(tc.existing))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := []string{filepath.Base(up), filepath.Base(down)}; !slices.Equal(got, tc.want) {
				t.Fatalf("wrote %v, want %v", got, tc.want)
			}
		})
	}
}

// contractSteps are the up migrations allowed to drop, rename or retype
// what running code may read, each with the release that stopped reading
// it (docs/schema-changes.md, expand/contract). None yet.
var contractSteps = map[string]string{}

// Every up migration only expands the schema: a replica still on the
// previous release keeps working while it applies. Dropping, renaming or
// retyping a column or a table is a contract step, listed above with why.
func TestUpMigrationsOnlyExpand(t *testing.T) {
	contracting := regexp.MustCompile(`(?i)\b(DROP\s+(COLUMN|TABLE)|RENAME\s+(COLUMN|TABLE|TO)|CHANGE\s+(COLUMN\s+)?\w+\s+\w+|MODIFY\s+(COLUMN\s+)?\w+)`)
	for _, service := range schema.Services {
		files, err := schema.Migrations(service)
		if err != nil {
			t.Fatal(err)
		}
		ups, err := fs.Glob(files, "*.up.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, up := range ups {
			raw, err := fs.ReadFile(files, up)
			if err != nil {
				t.Fatal(err)
			}
			var code strings.Builder
			for _, line := range strings.Split(string(raw), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "--") {
					code.WriteString(line + "\n")
				}
			}
			if m := contracting.FindString(code.String()); m != "" && contractSteps[service+"/"+up] == "" {
				t.Errorf("%s/%s contracts the schema (%q) while the running release may still read it: "+
					"split it into expand and contract (docs/schema-changes.md), or list it in contractSteps with the release that stopped reading it", service, up, m)
			}
		}
	}
}
