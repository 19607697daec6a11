package httpkit_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/api/httpkit"
)

func TestKeyGuardRefusesMissingWrongAndUnsetKeys(t *testing.T) {
	ok := func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	api := func(key string) *httpkit.API {
		k := httpkit.Key{Header: "X-Test-Key", Value: key, Holder: "test"}
		return httpkit.New([]httpkit.Route{{Method: "POST", Path: "/guarded", Handler: k.Guard(ok)}})
	}
	cases := []struct {
		name, key, sent string
		status          int
	}{
		{"no key sent", "k", "", http.StatusUnauthorized},
		{"wrong key", "k", "x", http.StatusForbidden},
		{"right key", "k", "k", http.StatusNoContent},
		{"no key configured refuses all", "", "anything", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/guarded", nil)
			if tc.sent != "" {
				req.Header.Set("X-Test-Key", tc.sent)
			}
			rec := httptest.NewRecorder()
			api(tc.key).ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("= %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.status >= 400 && rec.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("refusal is not JSON: %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

// The refusal reads as English whoever holds the key.
func TestKeyRefusalNamesItsHolder(t *testing.T) {
	for holder, want := range map[string]string{
		"service":  "a service API key is required",
		"employee": "an employee API key is required",
	} {
		k := httpkit.Key{Header: "X-Test-Key", Value: "k", Holder: holder}
		if err := k.Check(httptest.NewRequest("GET", "/", nil)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", holder, err, want)
		}
	}
}
