// Package errs is the one error vocabulary of both services: the kinds of
// failure that every sentinel error wraps, errors that carry a kind and a
// message meant for the client, and, side by side, the tables that turn a
// kind into an HTTP status and a GraphQL error code.
package errs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Kinds of failure. A service's sentinels wrap one (see New); an error of
// no kind is a fault of the server.
var (
	BadRequest   = errors.New("bad request")  // the request cannot be read: not JSON, wrong types, missing fields
	Invalid      = errors.New("invalid")      // the request reads well but a value is not acceptable
	NotFound     = errors.New("not found")    // what the request names does not exist
	Conflict     = errors.New("conflict")     // the request contradicts the current state
	TooLarge     = errors.New("too large")    // the request is over a size limit
	Unauthorized = errors.New("unauthorized") // a credential is missing
	Forbidden    = errors.New("forbidden")    // a credential is wrong
	Unavailable  = errors.New("unavailable")  // a dependency is down or the request ran out of time
)

// kinds is the one table from kinds to HTTP statuses and GraphQL error
// codes. An error matching no row is a server fault: 500 and INTERNAL.
var kinds = []struct {
	kind   error
	status int
	code   string
}{
	{BadRequest, http.StatusBadRequest, "BAD_REQUEST"},
	{Invalid, http.StatusUnprocessableEntity, "BAD_USER_INPUT"},
	{NotFound, http.StatusNotFound, "NOT_FOUND"},
	{Conflict, http.StatusConflict, "CONFLICT"},
	{TooLarge, http.StatusRequestEntityTooLarge, "TOO_LARGE"},
	{Unauthorized, http.StatusUnauthorized, "UNAUTHENTICATED"},
	{Forbidden, http.StatusForbidden, "FORBIDDEN"},
	{Unavailable, http.StatusServiceUnavailable, "UNAVAILABLE"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "TIMEOUT"},
	{context.Canceled, http.StatusServiceUnavailable, "TIMEOUT"},
}

// HTTPStatus is err's status; known is false for a server fault (500).
func HTTPStatus(err error) (status int, known bool) {
	for _, k := range kinds {
		if errors.Is(err, k.kind) {
			return k.status, true
		}
	}
	return http.StatusInternalServerError, false
}

// GraphQLCode is err's GraphQL error code; known is false for a server fault (INTERNAL).
func GraphQLCode(err error) (code string, known bool) {
	for _, k := range kinds {
		if errors.Is(err, k.kind) {
			return k.code, true
		}
	}
	return "INTERNAL", false
}

// New returns a sentinel of kind: errors.Is matches both, and its text is text.
func New(kind error, text string) error { return &kindError{kind: kind, msg: text} }

// Errorf returns an error that errors.Is matches to kind (a kind or a
// sentinel) and whose message is the formatted text alone, for the client.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
