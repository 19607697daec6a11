package rest

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/services/platform/apperr"
)

// Headers that carry the API keys.
const (
	EmployeeKeyHeader = "X-Employee-Key" // store employees: payment state, and every write when configured
	ServiceKeyHeader  = "X-Service-Key"  // trusted services: creating a payment through the API
)

// Local keys used when none is configured: LOCAL DEVELOPMENT DEFAULTS for a
// loopback-only stack, to be replaced by secrets anywhere else.
const (
	LocalEmployeeKey = "local-employee-key"
	LocalServiceKey  = "local-service-key"
)

// Errors of a refused credential, mapped in the status table.
var (
	errUnauthorized = errors.New("unauthorized")
	errForbidden    = errors.New("forbidden")
)

// Key is an API key that guards routes: who holds it and the header it is sent in.
type Key struct {
	Header string
	Value  string // empty refuses every request: a guarded route is never open by accident
	Holder string // "employee", "service": named in the refusal
}

// EmployeeKey is the employees' key.
func EmployeeKey(value string) Key {
	return Key{Header: EmployeeKeyHeader, Value: value, Holder: "employee"}
}

// ServiceKey is the trusted services' key.
func ServiceKey(value string) Key {
	return Key{Header: ServiceKeyHeader, Value: value, Holder: "service"}
}

// check answers 401 without the key and 403 with a wrong one.
func (k Key) check(r *http.Request) error {
	sent := r.Header.Get(k.Header)
	switch {
	case sent == "":
		return apperr.Errorf(errUnauthorized, "an %s API key is required: send it in the %s header", k.Holder, k.Header)
	case k.Value == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(k.Value)) != 1:
		return apperr.Errorf(errForbidden, "the %s API key is not valid", k.Holder)
	}
	return nil
}

// Guard lets a request reach h only with the key.
func (k Key) Guard(h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if err := k.check(r); err != nil {
			writeError(w, r, err)
			return
		}
		h(w, r, ps)
	}
}

// graphqlPaths have their own access rule: the supplier key for mutations.
var graphqlPaths = map[string]bool{"/stocks/graphql-query": true, "/graphql": true}

// RequireOnWrites puts every write route of store-manager (POST, PUT,
// DELETE) behind key when on is set; reads and the GraphQL routes keep their
// own rules. Off by default, so the original's clients work unchanged; the
// routes that change payment state need the employee key either way.
func RequireOnWrites(on bool, key Key, next http.Handler) http.Handler {
	if !on {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodDelete
		if write && !graphqlPaths[r.URL.Path] {
			if err := key.check(r); err != nil {
				writeError(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
