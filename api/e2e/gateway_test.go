package e2e

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/store-manager/store-manager/krakend"
	"github.com/store-manager/store-manager/services/stacktest"
)

// Gateway's own answers, as opposed to the services'.
func fromGateway(body string) bool {
	return strings.Contains(body, "the gateway has no route") || strings.Contains(body, "the gateway allows no") ||
		strings.Contains(body, "unavailable") || strings.Contains(body, "did not answer in time")
}

// Every route declared in krakend.json reaches its service through the gateway.
func TestGatewayRoutesReachServices(t *testing.T) {
	stacktest.Stack(t)
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	c := stacktest.NewClient(gatewayURL())
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
	c := stacktest.NewClient(gatewayURL())
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/admin", 404},
		{"GET", "/ready", 404}, // the services' readiness is not public
		{"GET", "/users/1/orders", 404},
		{"PATCH", "/users/1", 405},
		{"GET", "/orders", 405},
	}
	for _, tc := range cases {
		r := c.Do(t, tc.method, tc.path, nil)
		if r.Status != tc.status || r.Field("error") == nil || !fromGateway(string(r.Raw)) {
			t.Errorf("%s %s = %d %s, want %d with the gateway's JSON error", tc.method, tc.path, r.Status, r.Raw, tc.status)
		}
	}
}

// Past the per-client limit, the gateway answers 429 with a JSON body.
func TestGatewayRateLimit(t *testing.T) {
	stacktest.Stack(t)
	defer time.Sleep(2 * time.Second) // let the bucket refill for the tests after this one
	c := stacktest.NewClient(gatewayURL())
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
