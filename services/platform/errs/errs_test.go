package errs_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/store-manager/store-manager/services/platform/errs"
)

func TestKindsMapToStatusesAndCodes(t *testing.T) {
	sentinel := errs.New(errs.NotFound, "order not found")
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		known  bool
	}{
		{"kind", errs.Errorf(errs.Conflict, "order 7 is paid"), 409, "CONFLICT", true},
		{"sentinel of a kind", errs.Errorf(sentinel, "order 7 not found"), 404, "NOT_FOUND", true},
		{"wrapped", fmt.Errorf("handler: %w", errs.Errorf(errs.Invalid, "x")), 422, "BAD_USER_INPUT", true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "TIMEOUT", true},
		{"credential", errs.Errorf(errs.Forbidden, "bad key"), 403, "FORBIDDEN", true},
		{"fault", errors.New("connection refused"), 500, "INTERNAL", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, known := errs.HTTPStatus(tc.err)
			code, codeKnown := errs.GraphQLCode(tc.err)
			if status != tc.status || code != tc.code || known != tc.known || codeKnown != tc.known {
				t.Fatalf("= %d %s %t %t; want %d %s %t", status, code, known, codeKnown, tc.status, tc.code, tc.known)
			}
		})
	}
}

func TestErrorfReadsAsItsMessageAlone(t *testing.T) {
	sentinel := errs.New(errs.NotFound, "not found")
	err := errs.Errorf(sentinel, "order %d not found", 7)
	if err.Error() != "order 7 not found" || !errors.Is(err, sentinel) || !errors.Is(err, errs.NotFound) || errors.Is(err, errs.Conflict) {
		t.Fatalf("err = %q, or it matches the wrong kinds", err)
	}
}

// A dependency that cannot be reached is 503 with a message of its own,
// never the error's details.
func TestUnreachableDependenciesAreUnavailable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, err := range []error{fmt.Errorf("get order 7: %w", dial), fmt.Errorf("query: %w", driver.ErrBadConn)} {
		status, code, msg, known := errs.Public(err)
		if status != 503 || code != "UNAVAILABLE" || !known || strings.Contains(msg, "tcp") || strings.Contains(msg, "order 7") {
			t.Errorf("Public(%v) = %d %s %q %t", err, status, code, msg, known)
		}
	}
	if status, _, msg, known := errs.Public(errors.New("nil pointer")); status != 500 || known || msg != "internal error" {
		t.Errorf("a fault = %d %q %t", status, msg, known)
	}
}
