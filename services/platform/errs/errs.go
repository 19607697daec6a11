// Package errs is the one error vocabulary of both services: the kinds of
// failure that every sentinel error wraps, errors that carry a kind and a
// message meant for the client, and, side by side, the tables that turn a
// kind into an HTTP status and a GraphQL error code.
package errs

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/go-sql-driver/mysql"
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
	TooMany      = errors.New("too many")     // the caller holds as many of something as it may (subscriptions)
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
	{TooMany, http.StatusTooManyRequests, "TOO_MANY_REQUESTS"},
	{context.DeadlineExceeded, http.StatusServiceUnavailable, "TIMEOUT"},
	{context.Canceled, http.StatusServiceUnavailable, "TIMEOUT"},
}

// Unreachable reports an error of a dependency that could not be reached
// (a database, Redis, a service restarting): the same work may succeed later.
func Unreachable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// unreachableMessage is what clients read of an unreachable dependency.
const unreachableMessage = "a service this request needs is unavailable: retry later"

// Public is what a client is told of err: its status, its GraphQL code and
// its message. An error of a kind shows its own message; an unreachable
// dependency is Unavailable with a message of its own; any other error is
// a fault of the server, shown as "internal error", and known is false.
func Public(err error) (status int, code, message string, known bool) {
	if status, known = HTTPStatus(err); known {
		code, _ = GraphQLCode(err)
		return status, code, err.Error(), true
	}
	if Unreachable(err) {
		return http.StatusServiceUnavailable, "UNAVAILABLE", unreachableMessage, true
	}
	return http.StatusInternalServerError, "INTERNAL", "internal error", false
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
