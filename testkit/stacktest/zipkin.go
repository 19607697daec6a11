package stacktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// ZipkinSpan is a span as Zipkin's API answers it.
type ZipkinSpan struct {
	TraceID       string `json:"traceId"`
	ParentID      string `json:"parentId"`
	ID            string `json:"id"`
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	LocalEndpoint struct {
		ServiceName string `json:"serviceName"`
	} `json:"localEndpoint"`
	Tags        map[string]string `json:"tags"`
	Annotations []struct {
		Value string `json:"value"`
	} `json:"annotations"`
}

// ZipkinTrace reads a trace's spans from the Zipkin at base; false when it
// is not there (yet).
func ZipkinTrace(t testing.TB, base, traceID string) ([]ZipkinSpan, bool) {
	t.Helper()
	var spans []ZipkinSpan
	return spans, zipkinGet(t, base+"/api/v2/trace/"+traceID, &spans)
}

// ZipkinEventSpan finds the span in which service handled the event with id
// (its event.id tag), in the Zipkin at base, among the last ten minutes'.
func ZipkinEventSpan(t testing.TB, base, service, id string) (ZipkinSpan, bool) {
	t.Helper()
	var traces [][]ZipkinSpan
	query := "/api/v2/traces?lookback=600000&limit=5&serviceName=" + url.QueryEscape(service) +
		"&annotationQuery=" + url.QueryEscape("event.id="+id)
	if !zipkinGet(t, base+query, &traces) {
		return ZipkinSpan{}, false
	}
	for _, tr := range traces {
		for _, sp := range tr {
			if sp.Tags["event.id"] == id {
				return sp, true
			}
		}
	}
	return ZipkinSpan{}, false
}

// zipkinGet reads a Zipkin API address into out; false on 404.
func zipkinGet(t testing.TB, addr string, out any) bool {
	t.Helper()
	resp, err := http.Get(addr)
	if err != nil {
		t.Fatalf("zipkin: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return false
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("zipkin %s: %s", addr, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("zipkin %s: %v", addr, err)
	}
	return true
}
