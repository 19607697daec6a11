package httpkit

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// ErrorBody is every error response.
type ErrorBody struct {
	Error string `json:"error"`
}

// fieldsError carries fields a route adds to its error answers.
type fieldsError struct {
	error
	fields map[string]any
}

func (e fieldsError) Unwrap() error { return e.error }

// WithFields adds fields to err's JSON answer, for routes whose original
// error shape had more than "error" (such as {"deleted": false}).
func WithFields(err error, fields map[string]any) error {
	if err == nil {
		return nil
	}
	return fieldsError{err, fields}
}

// WriteError answers err as JSON as errs.Public says: the status and
// message of its kind, 503 for a dependency that cannot be reached, and
// 500 without details (logged) for a fault of the server.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, _, msg, known := errs.Public(err)
	switch {
	case !known:
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case status == http.StatusServiceUnavailable && !errors.Is(err, errs.Unavailable): // not a service shedding load: it counts those
		slog.WarnContext(r.Context(), "request refused: a dependency is unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1") // busy, or a dependency away: it may pass soon
	}
	var fe fieldsError
	if !errors.As(err, &fe) {
		WriteJSON(w, status, ErrorBody{Error: msg})
		return
	}
	body := map[string]any{"error": msg}
	for k, v := range fe.fields {
		body[k] = v
	}
	WriteJSON(w, status, body)
}
