package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/store"
)

// statuses is the one table from errors to HTTP statuses. An error not in it
// is a fault of the server: it is logged and answered 500 without details.
var statuses = []struct {
	err    error
	status int
}{
	{errBadRequest, http.StatusBadRequest},
	{errTooLarge, http.StatusRequestEntityTooLarge},
	{errInvalidValue, http.StatusUnprocessableEntity},
	{errUnauthorized, http.StatusUnauthorized},
	{errForbidden, http.StatusForbidden},
	{store.ErrNotFound, http.StatusNotFound},
	{store.ErrInvalid, http.StatusUnprocessableEntity},
	{store.ErrConflict, http.StatusConflict},
	{payments.ErrNotFound, http.StatusNotFound},
	{payments.ErrInvalid, http.StatusUnprocessableEntity},
	{payments.ErrConflict, http.StatusConflict},
	{context.DeadlineExceeded, http.StatusServiceUnavailable},
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
}

// statusOf maps err through the table; ok is false for server faults.
func statusOf(err error) (status int, ok bool) {
	for _, s := range statuses {
		if errors.Is(err, s.err) {
			return s.status, true
		}
	}
	return http.StatusInternalServerError, false
}

// writeError answers err as JSON with its status; extra fields may be merged
// in for routes whose original error shape had more (such as "deleted").
func writeError(w http.ResponseWriter, r *http.Request, err error, extra ...map[string]any) {
	status, ok := statusOf(err)
	msg := err.Error()
	if !ok {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	if len(extra) == 0 {
		writeJSON(w, status, errorBody{Error: msg})
		return
	}
	body := map[string]any{"error": msg}
	for k, v := range extra[0] {
		body[k] = v
	}
	writeJSON(w, status, body)
}
