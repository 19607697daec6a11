package payments

import (
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// Sentinel errors of the payments use cases, each of a kind of errs.
var (
	ErrNotFound = errs.New(errs.NotFound, "payments: not found")
	ErrInvalid  = errs.New(errs.Invalid, "payments: invalid")
	ErrConflict = errs.New(errs.Conflict, "payments: conflict")
)

func invalidf(format string, args ...any) error  { return errs.Errorf(ErrInvalid, format, args...) }
func notFoundf(format string, args ...any) error { return errs.Errorf(ErrNotFound, format, args...) }
func conflictf(format string, args ...any) error { return errs.Errorf(ErrConflict, format, args...) }

// errDuplicateKey is MySQL's error number for a duplicate unique key.
const errDuplicateKey = 1062

// isDuplicate reports whether err is a duplicate unique key.
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == errDuplicateKey
}
