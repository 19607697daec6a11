package schema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// migrationName is what a new migration may be called: lowercase words joined by underscores.
var migrationName = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// migrationFile is a golang-migrate file name: a number, a name, a direction.
var migrationFile = regexp.MustCompile(`^(\d+)_(.+)\.(up|down)\.sql$`)

// ErrMigrationExists is returned for a name or a number a migration has already.
var ErrMigrationExists = errors.New("migration exists")

// CreateMigration starts a change of a service's schema: it writes the next
// numbered pair of empty migrations called name in dir (the service's folder
// under sql/), as golang-migrate's `migrate create -seq -digits 6` does, and
// returns their paths. It refuses a name that is not lowercase words, a name
// a migration of dir has already, and a number that is taken meanwhile.
func CreateMigration(dir, name string) (up, down string, err error) {
	if !migrationName.MatchString(name) || len(name) > 64 {
		return "", "", fmt.Errorf("a migration's name is lowercase words joined by underscores (add_order_note), not %q", name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", "", fmt.Errorf("read %s: %w", dir, err)
	}
	last := 0
	named := map[int]string{} // each number's name: two names for one number is a collision
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if m[2] == name {
			return "", "", fmt.Errorf("%w: %s is called %s already", ErrMigrationExists, e.Name(), name)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", e.Name(), err)
		}
		if other, ok := named[n]; ok && other != m[2] {
			return "", "", fmt.Errorf("%w: %s and %s share the number %d; renumber one before adding another", ErrMigrationExists, other, m[2], n)
		}
		named[n] = m[2]
		last = max(last, n)
	}
	base := filepath.Join(dir, fmt.Sprintf("%06d_%s", last+1, name))
	up, down = base+".up.sql", base+".down.sql"
	header := "-- " + strings.ReplaceAll(name, "_", " ") + ": %s.\n"
	for _, f := range []struct{ path, text string }{
		{up, fmt.Sprintf(header, "what it adds or changes (backwards compatible: see docs/schema-changes.md)")},
		{down, fmt.Sprintf(header, "undo the up migration exactly")},
	} {
		// O_EXCL: a file of that number written meanwhile (another branch) is never overwritten.
		file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			err = fmt.Errorf("%w: %s", ErrMigrationExists, f.path)
		}
		if err != nil {
			if f.path == down {
				os.Remove(up) // never half a pair
			}
			return "", "", err
		}
		_, werr := file.WriteString(f.text)
		if err := errors.Join(werr, file.Close()); err != nil {
			return "", "", err
		}
	}
	return up, down, nil
}
