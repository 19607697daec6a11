// Package rest is the HTTP JSON API of store-manager and payments: httprouter
// routes, thin handlers, one error-to-status table and the middleware they share.
package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/services/apperr"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// Errors of the HTTP layer itself, mapped in the status table like the services' errors.
var (
	errBadRequest   = errors.New("bad request")
	errTooLarge     = errors.New("request body too large")
	errInvalidValue = errors.New("invalid value")
)

func badRequestf(format string, args ...any) error {
	return apperr.Errorf(errBadRequest, format, args...)
}

// decode reads exactly one JSON object into v, rejecting unknown fields,
// trailing data, wrong types and bodies over MaxBodyBytes. The body is read
// as JSON whatever Content-Type says, as curl's default form type is common.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return apperr.Errorf(errTooLarge, "request body is over %d bytes", MaxBodyBytes)
		}
		return badRequestf("body must hold a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		mbe    *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return apperr.Errorf(errTooLarge, "request body is over %d bytes", MaxBodyBytes)
	case errors.Is(err, io.EOF):
		return badRequestf("body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syntax):
		return badRequestf("body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequestf("body must be a JSON object")
		}
		return badRequestf("field %s must be a %s", typ.Field, typ.Type.String())
	case strings.Contains(err.Error(), "into Number"):
		return badRequestf("a number was expected: %s", strings.TrimPrefix(err.Error(), "json: "))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequestf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return badRequestf("body is not valid JSON: %v", err)
	}
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pathID reads a positive integer path parameter.
func pathID(ps httprouter.Params, name string) (int64, error) {
	s := ps.ByName(name)
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, badRequestf("%s must be a positive integer, not %q", name, s)
	}
	return id, nil
}

func invalidValuef(format string, args ...any) error {
	return apperr.Errorf(errInvalidValue, format, args...)
}

// required reports a missing field of a request body.
func required(name string) error { return badRequestf("field %s is required", name) }

// field is a request body field and whether the request set it.
type field struct {
	name string
	set  bool
}

// requireAll reports the first field the request left out.
func requireAll(fields ...field) error {
	for _, f := range fields {
		if !f.set {
			return required(f.name)
		}
	}
	return nil
}
