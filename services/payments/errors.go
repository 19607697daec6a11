package payments

import "errors"

// Sentinel errors of the payments use cases; the API maps each to a status.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrConflict = errors.New("conflict")
)
