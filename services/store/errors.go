package store

import (
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// Sentinel errors of the store's use cases, each of a kind of errs.
var (
	ErrNotFound = errs.New(errs.NotFound, "store: not found")
	ErrInvalid  = errs.New(errs.Invalid, "store: invalid")
	ErrConflict = errs.New(errs.Conflict, "store: conflict")
)

// MySQL error numbers the store turns into conflicts.
const (
	errDuplicateKey    = 1062
	errRowReferenced   = 1451 // deleting a row another row points at
	errRowReferenced2  = 1217
	errNoReferencedRow = 1452 // inserting a row that points at a row deleted meanwhile
	errOutOfRange      = 1264 // a value beyond its column's type
	errCheckFailed     = 4025 // MariaDB: a CHECK constraint failed (MySQL: 3819)
	errCheckFailedMy   = 3819
)

func invalidf(format string, args ...any) error  { return errs.Errorf(ErrInvalid, format, args...) }
func notFoundf(format string, args ...any) error { return errs.Errorf(ErrNotFound, format, args...) }
func conflictf(format string, args ...any) error { return errs.Errorf(ErrConflict, format, args...) }

// mysqlErr reports whether err is a MySQL error with one of the numbers.
func mysqlErr(err error, numbers ...uint16) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	for _, n := range numbers {
		if me.Number == n {
			return true
		}
	}
	return false
}
