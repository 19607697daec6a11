// Package apperr builds errors that belong to a kind (a sentinel such as
// store.ErrNotFound) but read as a plain message meant for the client.
package apperr

import "fmt"

type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

// Errorf returns an error that errors.Is matches to kind and whose message is
// the formatted text alone.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
