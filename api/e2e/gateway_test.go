package e2e

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/store-manager/store-manager/krakend"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// Gateway's own answers, as opposed to the services'.
func fromGateway(body string) bool {
	return strings.Contains(body, "the gateway has no such route") || strings.Contains(body, "the gateway does not allow") ||
		strings.Contains(body, "unavailable") || strings.Contains(body, "did not answer in time") ||
		strings.Contains(body, "the gateway could not read") || strings.Contains(body, "URI is too long") ||
		strings.Contains(body, "request body too large")
}

// Every route declared in krakend.json reaches its service through the gateway.
func TestGatewayRoutesReachServices(t *testing.T) {
	stacktest.Stack(t)
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	c := stacktest.NewClient(systemkit.GatewayURL())
	ids := strings.NewReplacer("{user_id}", "1", "{product_id}", "1", "{order_id}", "999999999", "{payment_id}", "999999999")
	for _, e := range cfg.Endpoints {
		t.Run(e.Method+" "+e.Path, func(t *testing.T) {
			var body any
			if e.Method == "POST" || e.Method == "PUT" {
				body = `{"unknown_field": true}` // refused by the service, so nothing changes
			}
			path := ids.Replace(e.Path)
			if e.Method == "GET" && e.Path == "/graphql" {
				path += "?query=%7BstockLevel(productId:%221%22)%7D"
			}
			r := c.Do(t, e.Method, path, body)
			if fromGateway(string(r.Raw)) || r.Status == 429 || r.Status >= 500 {
				t.Fatalf("%s %s = %d %s: the service was not reached", e.Method, path, r.Status, r.Raw)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%s %s answered %q", e.Method, path, r.Header.Get("Content-Type"))
			}
		})
	}
}

func TestGatewayUndeclared(t *testing.T) {
	stacktest.Stack(t)
	c := stacktest.NewClient(systemkit.GatewayURL())
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/admin", 404},
		{"GET", "/ready", 404}, // the services' readiness is not public
		{"GET", "/users/1/orders", 404},
		{"PATCH", "/users/1", 405},
		{"GET", "/orders", 405},
		{"GET", "/stocks/" + strings.Repeat("1", 9000), 414},
		{"GET", "/a%22b", 404}, // a quote in the path does not break the JSON
		// Ids in their one canonical form only: none of these is row 1.
		{"GET", "/stocks/+1", 404},
		{"GET", "/stocks/01", 404},
		{"GET", "/stocks/%201", 404},
		{"GET", "/stocks/1.0", 404},
		{"GET", "/orders/-1", 404},
		{"POST", "/payments/process/01", 404},
	}
	for _, tc := range cases {
		r := c.Do(t, tc.method, tc.path, nil)
		if r.Status != tc.status || r.Field("error") == nil || !fromGateway(string(r.Raw)) {
			t.Errorf("%s %s = %d %s, want %d with the gateway's JSON error", tc.method, tc.path, r.Status, r.Raw, tc.status)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s answered %q", tc.method, tc.path[:min(len(tc.path), 40)], ct)
		}
	}
}

// The gateway's own refusals that the client library cannot send: a request
// line nginx cannot read, headers over its buffers, a body over its cap.
func TestGatewayAnswersUnreadableRequestsWithJSON(t *testing.T) {
	stacktest.Stack(t)
	addr := strings.TrimPrefix(systemkit.GatewayURL(), "http://")
	cases := []struct {
		name, raw string
		status    int
	}{
		{"not HTTP", "GARBAGE\r\n\r\n", 400},
		{"no Host header", "GET /health-check HTTP/1.1\r\n\r\n", 400},
		{"headers too large", "GET /health-check HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\n\r\n", 400},
		{"body over the cap", "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{", 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write([]byte(tc.raw)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" ||
				json.NewDecoder(resp.Body).Decode(&body) != nil || body["error"] == nil {
				t.Fatalf("= %d %s %v, want %d with a JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status)
			}
		})
	}
}

// 405 names the allowed methods, and HEAD answers on every GET route as GET
// does, without a body.
func TestGatewayMethods(t *testing.T) {
	stacktest.Stack(t)
	c := stacktest.NewClient(systemkit.GatewayURL())
	r := c.Do(t, "DELETE", "/stocks/1", nil)
	if r.Status != 405 || r.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("DELETE /stocks/1 = %d Allow %q, want 405 Allow \"GET, HEAD\"", r.Status, r.Header.Get("Allow"))
	}
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	ids := strings.NewReplacer("{user_id}", "1", "{product_id}", "1", "{order_id}", "999999999", "{payment_id}", "999999999")
	for _, e := range cfg.Endpoints {
		if e.Method != "GET" {
			continue
		}
		path := ids.Replace(e.Path)
		get, head := c.Do(t, "GET", path, nil), c.Do(t, "HEAD", path, nil)
		if head.Status != get.Status || len(head.Raw) != 0 || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Errorf("HEAD %s = %d %q (%d bytes); GET = %d %q", path, head.Status, head.Header.Get("Content-Type"), len(head.Raw),
				get.Status, get.Header.Get("Content-Type"))
		}
	}
}

// Past the per-client limit, the gateway answers 429 with a JSON body.
func TestGatewayRateLimit(t *testing.T) {
	stacktest.Stack(t)
	defer time.Sleep(2 * time.Second) // let the bucket refill for the tests after this one
	c := stacktest.NewClient(systemkit.GatewayURL())
	var sent, limited atomic.Int64
	var sample atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for limited.Load() == 0 && sent.Add(1) <= 5000 {
				r, err := c.Try("GET", "/health-check", nil)
				if err == nil && r.Status == http.StatusTooManyRequests {
					limited.Add(1)
					sample.Store(r)
				}
			}
		}()
	}
	wg.Wait()
	if limited.Load() == 0 {
		t.Fatalf("%d requests as fast as possible were never limited", sent.Load())
	}
	r := sample.Load().(stacktest.Response)
	if r.Field("error") == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("429 body = %s (%s), want a JSON error", r.Raw, r.Header.Get("Content-Type"))
	}
}

// One abusive client alone exceeds the per-client read limit (2,000/s with a
// burst of 2,000): GETs from one address as fast as it can send them see a
// 429 once the burst is spent, however fast this machine is beyond the rate.
func TestGatewayReadLimitPerClient(t *testing.T) {
	stacktest.Stack(t)
	defer time.Sleep(2 * time.Second) // let the bucket refill for the tests after this one
	c := stacktest.NewClient(systemkit.GatewayURL())
	c.HTTP.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	var sent, limited atomic.Int64
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 48; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for limited.Load() == 0 && time.Now().Before(deadline) {
				sent.Add(1)
				if r, err := c.Try("GET", "/stocks/1", nil); err == nil && r.Status == http.StatusTooManyRequests {
					limited.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if limited.Load() == 0 {
		t.Fatalf("%d GETs from one address in 20 s were never limited", sent.Load())
	}
}
