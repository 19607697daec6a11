package store

import "github.com/store-manager/store-manager/services/platform/errs"

// Sentinel errors of the store's use cases, each of a kind of errs.
var (
	ErrNotFound = errs.New(errs.NotFound, "store: not found")
	ErrInvalid  = errs.New(errs.Invalid, "store: invalid")
	ErrConflict = errs.New(errs.Conflict, "store: conflict")
	ErrBusy     = errs.New(errs.Unavailable, "store: busy")
)
