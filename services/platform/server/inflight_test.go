package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Past its bound a service answers at once, 503 with Retry-After and a JSON
// body, and does not run the handler; the health checks and streams still
// reach it, and a slot freed is taken again.
func TestRequestsInFlightAreBounded(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 8)
	var ran int
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran++
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusOK)
	})
	srv := NewHTTP("", h, 1)
	done := make(chan struct{})
	go func() { // holds the one slot
		srv.Handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/slow", nil))
		close(done)
	}()
	<-entered
	sse := httptest.NewRequest("POST", "/graphql", nil)
	sse.Header.Set("Accept", "text/event-stream")
	ws := httptest.NewRequest("GET", "/graphql", nil)
	ws.Header.Set("Upgrade", "websocket")
	cases := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"another request", httptest.NewRequest("GET", "/stocks/1", nil), http.StatusServiceUnavailable},
		{"the health check", httptest.NewRequest("GET", "/health-check", nil), http.StatusOK},
		{"readiness", httptest.NewRequest("GET", "/ready", nil), http.StatusOK},
		{"server-sent events", sse, http.StatusOK},
		{"a WebSocket", ws, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			srv.Handler.ServeHTTP(w, tc.req)
			if w.Code != tc.status {
				t.Fatalf("= %d, want %d", w.Code, tc.status)
			}
			if tc.status == http.StatusServiceUnavailable && (w.Header().Get("Retry-After") != "1" ||
				w.Header().Get("Content-Type") != "application/json" || !strings.Contains(w.Body.String(), `"error"`)) {
				t.Fatalf("refusal: %v %s", w.Header(), w.Body)
			}
		})
	}
	if ran != 5 { // the slow request and the four let through
		t.Fatalf("the handler ran %d times, want 5", ran)
	}
	close(release)
	<-done
	w := httptest.NewRecorder()
	srv.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/stocks/1", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("once the slot is free = %d", w.Code)
	}
}
