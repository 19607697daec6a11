package httpkit

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/julienschmidt/httprouter"
)

// Where a static segment and a parameter share a position, a static path
// wins, an id reaches the parameter route, and a static path another
// method declares answers 405 rather than passing for an id.
func TestRouterStaticBesideParameter(t *testing.T) {
	answer := func(name string) Handler {
		return func(w http.ResponseWriter, _ *http.Request, ps httprouter.Params) error {
			_, err := w.Write([]byte(name + ps.ByName("id")))
			return err
		}
	}
	api := New([]Route{
		{http.MethodGet, "/things/{id}", answer("one:")},
		{http.MethodGet, "/things/report", answer("report")},
		{http.MethodPost, "/things/import", answer("import")},
	})
	tests := []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/things/7", 200, "one:7", ""},
		{"GET", "/things/report", 200, "report", ""},
		{"POST", "/things/import", 200, "import", ""},
		{"GET", "/things/import", 405, "", "POST"},
		{"POST", "/things/7", 405, "", "GET, HEAD"},
		{"GET", "/things/7/parts", 404, "", ""},
		{"HEAD", "/things/7", 200, "", ""},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.status {
			t.Errorf("%s %s = %d, want %d (%s)", tt.method, tt.path, w.Code, tt.status, w.Body)
			continue
		}
		if tt.body != "" && w.Body.String() != tt.body {
			t.Errorf("%s %s body %q, want %q", tt.method, tt.path, w.Body, tt.body)
		}
		if got := w.Header().Get("Allow"); got != tt.allow {
			t.Errorf("%s %s Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}
