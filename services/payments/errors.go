package payments

import "github.com/store-manager/store-manager/services/platform/errs"

// Sentinel errors of the payments use cases, each of a kind of errs.
var (
	ErrNotFound = errs.New(errs.NotFound, "payments: not found")
	ErrInvalid  = errs.New(errs.Invalid, "payments: invalid")
	ErrConflict = errs.New(errs.Conflict, "payments: conflict")
)
