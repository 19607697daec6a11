package httpkit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// answered is how many requests the histogram holds for route, method and status.
func answered(t *testing.T, route, method, status string) uint64 {
	t.Helper()
	var m dto.Metric
	if err := requestDuration.WithLabelValues(route, method, status).(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// Answers are counted by route template (not by path), method and status.
func TestRequestsAreCountedByRoute(t *testing.T) {
	const route = "/metered/{thing_id}"
	api := New([]Route{{Method: "GET", Path: route, Handler: GetByID("thing_id",
		func(_ context.Context, id int64) (int64, error) { return id, nil }, func(id int64) any { return id })}})
	ok, bad := answered(t, route, "GET", "200"), answered(t, route, "GET", "400")
	for _, path := range []string{"/metered/1", "/metered/2", "/metered/x"} {
		api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	if got := answered(t, route, "GET", "200") - ok; got != 2 {
		t.Errorf("200s counted = %d, want 2", got)
	}
	if got := answered(t, route, "GET", "400") - bad; got != 1 {
		t.Errorf("400s counted = %d, want 1", got)
	}
}

// A stream is counted apart from the route's requests: its lifetime would
// read as their latency.
func TestStreamsAreCountedApart(t *testing.T) {
	const route = "/metered-stream"
	api := New([]Route{{Method: "POST", Path: route, Handler: Plain(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))}})
	plain, streams := answered(t, route, "POST", "200"), answered(t, route+" (stream)", "POST", "200")
	req := httptest.NewRequest("POST", route, nil)
	req.Header.Set("Accept", "text/event-stream")
	api.ServeHTTP(httptest.NewRecorder(), req)
	api.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", route, nil))
	if got := answered(t, route+" (stream)", "POST", "200") - streams; got != 1 {
		t.Errorf("streams counted = %d, want 1", got)
	}
	if got := answered(t, route, "POST", "200") - plain; got != 1 {
		t.Errorf("requests counted = %d, want 1", got)
	}
}
