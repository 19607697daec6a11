// Package httpkit is the small HTTP kit both services' APIs share: routes
// whose handlers return errors, JSON bodies read within a cap, errors written
// through the one table of kinds (errs), API keys, health and readiness.
package httpkit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/ids"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

func badRequestf(format string, args ...any) error {
	return errs.Errorf(errs.BadRequest, format, args...)
}

// Decode reads exactly one JSON object into v, a pointer to a struct,
// rejecting unknown fields, trailing data, wrong types, bodies over
// MaxBodyBytes, and a nil pointer field tagged `required:"true"`. The body
// is read as JSON whatever Content-Type says, as curl's default form type
// is common.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return errs.Errorf(errs.TooLarge, "request body is over %d bytes", MaxBodyBytes)
		}
		return badRequestf("body must hold a single JSON object")
	}
	return requireFields(v)
}

// requireFields reports the first pointer field tagged `required:"true"`
// that the request left out (or sent as null).
func requireFields(v any) error {
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if f.Tag.Get("required") == "true" && f.Type.Kind() == reflect.Pointer && rv.Field(i).IsNil() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return Required(name)
		}
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
		return errs.Errorf(errs.TooLarge, "request body is over %d bytes", MaxBodyBytes)
	case errors.Is(err, io.EOF):
		return badRequestf("body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syntax):
		return badRequestf("body is not valid JSON")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequestf("body must be a JSON object")
		}
		return badRequestf("field %s must be %s", typ.Field, jsonType(typ.Type))
	case strings.Contains(err.Error(), "into Number"):
		return badRequestf("a number was expected")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequestf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return badRequestf("body is not valid JSON")
	}
}

// jsonType names the JSON type a Go type is read from, for error messages
// that never show Go's own type names.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[json.Number]() {
		return "a number"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	default:
		return "an object"
	}
}

// WriteJSON sends v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// PathID reads a positive integer path parameter, in its canonical form only.
func PathID(ps httprouter.Params, name string) (int64, error) {
	s := ps.ByName(name)
	id, ok := ids.Parse(s)
	if !ok {
		return 0, badRequestf("%s must be a positive integer written without sign, leading zero or spaces", name)
	}
	return id, nil
}

// Required reports a missing field of a request body.
func Required(name string) error { return badRequestf("field %s is required", name) }
