// Package schema holds every service database's golang-migrate migrations,
// embedded, and applies them.
package schema

import (
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	driver "github.com/go-sql-driver/mysql"
	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/mysql"
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

//go:embed store/*.sql payments/*.sql
var migrations embed.FS

// Services lists the databases that have migrations, one folder each.
var Services = []string{"store", "payments"}

// ErrUnknownService is returned for a service without migrations.
var ErrUnknownService = errors.New("unknown service")

// Migrations returns the migration files of one service.
func Migrations(service string) (fs.FS, error) {
	if !slices.Contains(Services, service) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownService, service)
	}
	return fs.Sub(migrations, service)
}

// Up applies every pending migration of service to the database at dsn.
func Up(dsn, service string) error {
	return run(dsn, service, func(m *migrate.Migrate) error { return m.Up() })
}

// Down reverts every migration of service on the database at dsn.
func Down(dsn, service string) error {
	return run(dsn, service, func(m *migrate.Migrate) error { return m.Down() })
}

// Version reports the applied version of service's schema at dsn, and
// whether a failed migration left it dirty. Version 0 means none applied.
func Version(dsn, service string) (version uint, dirty bool, err error) {
	err = run(dsn, service, func(m *migrate.Migrate) error {
		version, dirty, err = m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			return nil
		}
		return err
	})
	return version, dirty, err
}

// Apply applies the next n migrations in files to the database at dsn, or
// reverts -n of them when n is negative: a service's own (Migrations), or
// those with a change not committed yet, as tests make.
func Apply(dsn string, files fs.FS, n int) error {
	return runFiles(dsn, "schema", files, func(m *migrate.Migrate) error { return m.Steps(n) })
}

// DownUndoesUp applies the migrations in files to the empty database at
// dsn one at a time and, for each, checks that its down migration brings
// the schema back to what it was before its up: dump returns the schema as
// text. It returns the name of the first migration whose down does not
// undo its up (with both schemas), or "" when every one does.
func DownUndoesUp(dsn string, files fs.FS, dump func() (string, error)) (string, error) {
	ups, err := fs.Glob(files, "*.up.sql")
	if err != nil {
		return "", err
	}
	slices.Sort(ups)
	for _, up := range ups {
		before, err := dump()
		if err != nil {
			return "", err
		}
		if err := Apply(dsn, files, 1); err != nil {
			return "", fmt.Errorf("%s: %w", up, err)
		}
		if err := Apply(dsn, files, -1); err != nil {
			return "", fmt.Errorf("%s, down: %w", up, err)
		}
		after, err := dump()
		if err != nil {
			return "", err
		}
		if after != before {
			return fmt.Sprintf("%s\nbefore its up:\n%s\nafter its up and down:\n%s", strings.TrimSuffix(up, ".up.sql"), before, after), nil
		}
		if err := Apply(dsn, files, 1); err != nil {
			return "", fmt.Errorf("%s, again: %w", up, err)
		}
	}
	return "", nil
}

func run(dsn, service string, step func(*migrate.Migrate) error) error {
	files, err := Migrations(service)
	if err != nil {
		return err
	}
	return runFiles(dsn, service, files, step)
}

// runFiles runs step with the migrations in files on the database at dsn.
func runFiles(dsn, service string, files fs.FS, step func(*migrate.Migrate) error) error {
	src, err := iofs.New(files, ".")
	if err != nil {
		return fmt.Errorf("read %s migrations: %w", service, err)
	}
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		return fmt.Errorf("parse %s DSN: %w", service, err)
	}
	cfg.MultiStatements = true // a migration file holds several statements
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return fmt.Errorf("open %s database: %w", service, err)
	}
	target, err := mysql.WithInstance(db, &mysql.Config{})
	if err != nil {
		db.Close()
		return fmt.Errorf("connect to %s database: %w", service, err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "mysql", target)
	if err != nil {
		target.Close()
		return fmt.Errorf("prepare %s migrations: %w", service, err)
	}
	defer m.Close()
	if err := step(m); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("migrate %s: %w", service, err)
	}
	return nil
}
