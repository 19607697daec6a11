// Package httpkit is the small HTTP kit both services' APIs share: routes
// whose handlers return errors, JSON bodies read within a cap, errors written
// through the one table of kinds (errs), API keys, health and readiness.
package httpkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/ids"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

func badRequestf(format string, args ...any) error {
	return errs.Errorf(errs.BadRequest, format, args...)
}

// Decode reads exactly one JSON object into v, a pointer to a struct, and
// reads it strictly: member names match their fields exactly (case
// included), no member appears twice, no member is unknown, numbers are
// numbers (a quoted number is refused), the text is valid UTF-8, nothing
// follows the object, and a nil pointer field tagged `required:"true"` is
// refused. Bodies over MaxBodyBytes are refused. The body is read as JSON
// whatever Content-Type says, as curl's default form type is common.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return errs.Errorf(errs.TooLarge, "request body is over %d bytes", MaxBodyBytes)
	case err != nil:
		return badRequestf("the request body could not be read")
	case len(bytes.TrimSpace(body)) == 0:
		return badRequestf("body is empty; a JSON object is required")
	case !utf8.Valid(body):
		return badRequestf("body is not valid UTF-8")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if err := jsonv2.UnmarshalDecode(dec, v, jsonv2.RejectUnknownMembers(true)); err != nil {
		return decodeError(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
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

// decodeError turns what the strict decoder found into a message that names
// the member at fault, as items[0].quantity.
func decodeError(err error) error {
	var (
		syntax   *jsontext.SyntacticError
		semantic *jsonv2.SemanticError
	)
	switch {
	case errors.As(err, &syntax) && errors.Is(syntax.Err, jsontext.ErrDuplicateName):
		return badRequestf("field %s appears more than once", member(syntax.JSONPointer))
	case errors.As(err, &semantic) && errors.Is(semantic.Err, jsonv2.ErrUnknownName):
		return badRequestf("unknown field %s (names are matched exactly, case included)", member(semantic.JSONPointer))
	case errors.As(err, &semantic) && semantic.GoType != nil && semantic.JSONKind != 0:
		if semantic.JSONPointer == "" {
			return badRequestf("body must be a JSON object")
		}
		return badRequestf("field %s must be %s", member(semantic.JSONPointer), jsonType(semantic.GoType))
	default:
		return badRequestf("body is not valid JSON")
	}
}

// member writes a JSON pointer (/items/0/quantity) as items[0].quantity.
func member(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// Number is a JSON number as it was written, for amounts and quantities
// that must be read exactly: a string, even of digits, is refused.
type Number string

// UnmarshalJSON accepts a JSON number only.
func (n *Number) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errNotNumber
	}
	*n = Number(b)
	return nil
}

// String is the number as it was written.
func (n Number) String() string { return string(n) }

var errNotNumber = errors.New("not a JSON number")

// jsonType names the JSON type a Go type is read from, for error messages
// that never show Go's own type names.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[Number]() {
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
