package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/operations/console"
	"github.com/store-manager/store-manager/operations/sagareport"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
)

// fakeStore answers the console's reads with fixed data.
type fakeStore struct{}

func (fakeStore) Report(context.Context, time.Time, int) (sagareport.Report, error) {
	return sagareport.Report{
		ByState:   map[string]int64{"Completed": 12, "Cancelled": 1},
		Latencies: []sagareport.StepLatency{{Step: "StockDecreased", Count: 13, P50: 8 * time.Millisecond, P95: 20 * time.Millisecond, P99: 31 * time.Millisecond}},
		Latest:    []events.Order{{ID: 42, Status: "Completed", Steps: []events.OrderStep{{Event: "OrderCreated"}, {Event: "SagaCompleted"}}}},
	}, nil
}

func (fakeStore) Order(_ context.Context, id int64) (events.Order, error) {
	return events.Order{ID: id, Status: "Completed", Steps: []events.OrderStep{{Event: "<script>alert(1)</script>"}}}, nil
}

func (fakeStore) LowStock(context.Context, int64, int) ([]store.Product, error) { return nil, nil }

func (fakeStore) CheckReadModel(context.Context) (store.ReadModelCheck, error) {
	return store.ReadModelCheck{Checked: 3, Mismatches: []string{"product 7: 1 in stock, 2 in the read model"}}, nil
}

// The console answers only the operator key (401 without, and 401 again for
// a wrong password so the browser asks again; 403 for a wrong header key),
// only forms posted from itself (scheme, host and port), errors as JSON,
// never inside another site's frame, and escapes what it shows; a notice
// is only one of its own messages.
func TestConsoleBoundaries(t *testing.T) {
	h := console.New(console.Config{
		Stack: config.Stack{KafkaBrokers: "127.0.0.1:1", ConnectURL: "http://127.0.0.1:1"}, Store: fakeStore{}, Sagas: fakeStore{},
		OperatorKey: "op-key", PanelBudget: 300 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	cases := []struct {
		name, method, path, password, origin string
		status                               int
		contentType, body                    string
	}{
		{"no key", "GET", "/ops", "", "", 401, "application/json", "operator key"},
		{"wrong password", "GET", "/ops", "nope", "", 401, "application/json", "wrong operator key"},
		{"the page", "GET", "/ops", "op-key", "", 200, "text/html", "<svg"},
		{"an order, escaped", "GET", "/ops?order=42", "op-key", "", 200, "text/html", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"the stock check", "GET", "/ops?check=stock", "op-key", "", 200, "text/html", "3 products checked, 1 disagree"},
		{"a form from elsewhere", "POST", "/ops/connectors/restart", "op-key", "http://evil.example", 403, "application/json", "console itself"},
		{"a form from this host", "POST", "/ops/connectors/restart", "op-key", "@self", 404, "application/json", "no such connector"},
		{"a form from this host on another port", "POST", "/ops/connectors/restart", "op-key", "http://127.0.0.1:9", 403, "application/json", "console itself"},
		{"a form from this host over https", "POST", "/ops/connectors/restart", "op-key", "@https", 403, "application/json", "console itself"},
		{"a notice the console did not write", "GET", "/ops?done=%3Cb%3Eyour+key+expired%3C%2Fb%3E", "op-key", "", 200, "text/html", "<svg"},
		{"a notice of an unknown connector", "GET", "/ops?done=restarted&connector=evil", "op-key", "", 200, "text/html", "<svg"},
		{"a replay notice", "GET", "/ops?done=replayed&event=0b4e7a0e-5d4c-4b8e-9a39-5e0f7d0c1a2b", "op-key", "", 200, "text/html", "Replayed event 0b4e7a0e-5d4c-4b8e-9a39-5e0f7d0c1a2b"},
		{"an unknown connector", "POST", "/ops/connectors/restart", "op-key", "", 404, "application/json", "no such connector"},
		{"a bad replay", "POST", "/ops/dead-letters/replay", "op-key", "", 400, "application/json", "partition"},
		{"a wrong method", "DELETE", "/ops", "op-key", "", 405, "application/json", "method"},
		{"an unknown path", "GET", "/ops/nothing", "op-key", "", 404, "application/json", "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"connector": {"nope"}, "topic": {"orders"}, "partition": {"x"}}
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.password != "" {
				req.SetBasicAuth("operator", tc.password)
			}
			switch tc.origin {
			case "":
			case "@self":
				req.Header.Set("Origin", srv.URL)
			case "@https":
				req.Header.Set("Origin", strings.Replace(srv.URL, "http:", "https:", 1))
			default:
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) || !strings.Contains(string(raw), tc.body) {
				t.Fatalf("%s %s = %d %s %.300s; want %d %s with %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), raw,
					tc.status, tc.contentType, tc.body)
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("a 401 without WWW-Authenticate: a browser would not ask for the key")
			}
			if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Fatalf("framing is not forbidden: %v", resp.Header)
			}
			if strings.Contains(string(raw), "your key expired") || strings.Contains(string(raw), "evil") {
				t.Fatal("the page shows a notice it did not write")
			}
		})
	}
}
