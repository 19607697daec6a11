package krakend_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/api/paymentsapi"
	"github.com/store-manager/store-manager/api/storeapi"
	"github.com/store-manager/store-manager/krakend"
)

// schemaPath is KrakenD's published schema, kept beside the repository.
func schemaPath(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "shared", "krakend-schema", "krakend-v2.13.json")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("KrakenD's schema is not beside the repository: %v", err)
	}
	return p
}

func TestKrakendJSONMatchesSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2019)
	schema, err := c.Compile(schemaPath(t))
	if err != nil {
		t.Fatalf("compile KrakenD's schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(krakend.JSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("krakend/krakend.json does not match KrakenD's schema:\n%v", err)
	}
	// A config the schema refuses is refused: the check can fail.
	var bad map[string]any
	_ = json.Unmarshal(krakend.JSON, &bad)
	bad["endpoints"].([]any)[0].(map[string]any)["timeout"] = 3
	if err := schema.Validate(bad); err == nil {
		t.Fatal("the schema accepted a numeric timeout")
	}
}

func TestLoadRejects(t *testing.T) {
	ok := `{"version":3,"endpoints":[{"endpoint":"/a","method":"GET","output_encoding":"no-op",
	  "backend":[{"host":["http://s:1"],"url_pattern":"/a","encoding":"no-op"}]}]}`
	if _, err := krakend.Load(strings.NewReader(ok)); err != nil {
		t.Fatalf("a good config was refused: %v", err)
	}
	cases := map[string]string{
		"not json":       `{`,
		"version 2":      strings.Replace(ok, `"version":3`, `"version":2`, 1),
		"bad timeout":    strings.Replace(ok, `"method":"GET"`, `"method":"GET","timeout":"soon"`, 1),
		"no method":      strings.Replace(ok, `"method":"GET",`, ``, 1),
		"json encoding":  strings.Replace(ok, `"encoding":"no-op"`, `"encoding":"json"`, 1),
		"no host":        strings.Replace(ok, `["http://s:1"]`, `[]`, 1),
		"param rewrite":  strings.Replace(ok, `"url_pattern":"/a"`, `"url_pattern":"/b/{x}"`, 1),
		"declared twice": strings.Replace(ok, `]}]}`, `]}, {"endpoint":"/a","method":"GET","output_encoding":"no-op","backend":[{"host":["http://s:1"],"url_pattern":"/a","encoding":"no-op"}]}]}`, 1),
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := krakend.Load(strings.NewReader(cfg)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// Every public route of both services is declared once, with a timeout, both
// rate limits and a circuit breaker.
func TestEveryPublicRouteIsDeclared(t *testing.T) {
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	internal := map[string]bool{"GET /ready": true, "GET /health-check@payments": true}
	services := map[string][]httpkit.Route{
		"http://store-manager:5000": storeapi.New(nil, http.NotFoundHandler(), nil, storeapi.Access{}).Routes(),
		"http://payments:5009":      paymentsapi.New(nil, nil, paymentsapi.ServiceKey("")).Routes(),
	}
	declared := map[string]bool{}
	for _, e := range cfg.Endpoints {
		b := e.Backends[0]
		declared[b.Hosts[0]+" "+e.Method+" "+b.URLPattern] = true
		rl, cb := e.ExtraConfig.RateLimit, b.ExtraConfig.CircuitBreaker
		if e.Timeout == "" || rl == nil || rl.MaxRate <= 0 || rl.ClientMaxRate <= 0 || cb == nil || cb.MaxErrors <= 0 {
			t.Errorf("%s %s lacks a timeout, a global and per-client rate limit or a circuit breaker", e.Method, e.Path)
		}
	}
	for host, routes := range services {
		for _, r := range routes {
			key := r.Method + " " + r.Path
			if internal[key] || (strings.Contains(host, "payments") && internal[key+"@payments"]) {
				continue
			}
			if !declared[host+" "+key] {
				t.Errorf("%s of %s is not declared in krakend.json", key, host)
			}
		}
	}
}

// nginxConf renders cfg for a gateway on a free port, with its state in a temp folder.
func nginxConf(t *testing.T, cfg krakend.Config, backends map[string][]string) (conf, state, addr string) {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatal("nginx is not installed: the stack installs it (make stack)")
	}
	state = t.TempDir()
	for _, d := range []string{"run", "logs", "nginx/gateway"} {
		if err := os.MkdirAll(filepath.Join(state, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	out, err := cfg.Nginx(krakend.NginxOptions{Listen: addr, StateDir: state, Backends: backends})
	if err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(state, "nginx.conf")
	if err := os.WriteFile(conf, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf, state, addr
}

// The committed config renders to an nginx configuration that nginx accepts.
func TestGeneratedNginxIsValid(t *testing.T) {
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	conf, state, _ := nginxConf(t, cfg, map[string][]string{
		"http://store-manager:5000": {"127.0.0.1:5000", "127.0.0.1:5200"}, "http://payments:5009": {"127.0.0.1:5009"},
	})
	if out, err := exec.Command("nginx", "-t", "-c", conf, "-p", state).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if _, err := cfg.Nginx(krakend.NginxOptions{Listen: "127.0.0.1:1", Backends: map[string][]string{}}); err == nil {
		t.Fatal("rendering without backend addresses was accepted")
	}
}

// The gateway's own 404 and 405 bodies are krakend.json's router error_body,
// so KrakenD in compose and nginx natively say the same.
func TestGeneratedNginxSpeaksKrakendErrors(t *testing.T) {
	raw, err := os.ReadFile("krakend.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ExtraConfig struct {
			Router struct {
				ErrorBody map[string]struct {
					Error string `json:"error"`
				} `json:"error_body"`
			} `json:"router"`
		} `json:"extra_config"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := cfg.Nginx(krakend.NginxOptions{Listen: "127.0.0.1:1", Backends: map[string][]string{
		"http://store-manager:5000": {"127.0.0.1:5000"}, "http://payments:5009": {"127.0.0.1:5009"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"404", "405"} {
		msg := doc.ExtraConfig.Router.ErrorBody[status].Error
		if msg == "" || !strings.Contains(conf, `{"error":"`+msg+`"}`) {
			t.Errorf("krakend.json's %s body %q is not the generated gateway's", status, msg)
		}
	}
}

// A backend slower than its endpoint's timeout gets 504 within that timeout,
// from a gateway generated for a slow test backend.
func TestSlowBackendTimesOut(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(3 * time.Second)
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer slow.Close()
	cfg, err := krakend.Load(strings.NewReader(`{"version":3,"endpoints":[
	  {"endpoint":"/slow","method":"GET","timeout":"500ms","output_encoding":"no-op",
	   "backend":[{"host":["http://slow:1"],"url_pattern":"/slow","encoding":"no-op"}]},
	  {"endpoint":"/fast","method":"GET","timeout":"500ms","output_encoding":"no-op",
	   "backend":[{"host":["http://slow:1"],"url_pattern":"/fast","encoding":"no-op"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	conf, state, addr := nginxConf(t, cfg, map[string][]string{"http://slow:1": {strings.TrimPrefix(slow.URL, "http://")}})
	if out, err := exec.Command("nginx", "-c", conf, "-p", state).CombinedOutput(); err != nil {
		t.Fatalf("start nginx: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("nginx", "-c", conf, "-p", state, "-s", "stop").Run() })
	waitHTTP(t, "http://"+addr+"/fast")

	start := time.Now()
	resp, err := http.Get("http://" + addr + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	took := time.Since(start)
	if resp.StatusCode != http.StatusGatewayTimeout || body["error"] == nil {
		t.Fatalf("slow backend: %d %v, want 504 with a JSON error", resp.StatusCode, body)
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("504 came after %s; the endpoint timeout is 500ms", took)
	}
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The generated gateway rewrites parameters into the backend's path, answers
// HEAD on GET routes, names the allowed methods in 405s, refuses
// non-canonical ids, and answers a backend that is down with a JSON 502.
func TestGeneratedGatewayRoutes(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"method":%q,"path":%q}`, r.Method, r.URL.Path)
	}))
	defer backend.Close()
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := down.Addr().String()
	down.Close()
	cfg, err := krakend.Load(strings.NewReader(`{"version":3,"endpoints":[
	  {"endpoint":"/fast","method":"GET","timeout":"1s","output_encoding":"no-op",
	   "backend":[{"host":["http://b:1"],"url_pattern":"/fast","encoding":"no-op"}]},
	  {"endpoint":"/alias/{thing_id}/pay","method":"POST","timeout":"1s","output_encoding":"no-op",
	   "backend":[{"host":["http://b:1"],"url_pattern":"/real/{thing_id}","encoding":"no-op"}]},
	  {"endpoint":"/down","method":"GET","timeout":"1s","output_encoding":"no-op",
	   "backend":[{"host":["http://down:1"],"url_pattern":"/down","encoding":"no-op"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	conf, state, addr := nginxConf(t, cfg, map[string][]string{"http://b:1": {strings.TrimPrefix(backend.URL, "http://")}, "http://down:1": {downAddr}})
	if out, err := exec.Command("nginx", "-c", conf, "-p", state).CombinedOutput(); err != nil {
		t.Fatalf("start nginx: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("nginx", "-c", conf, "-p", state, "-s", "stop").Run() })
	waitHTTP(t, "http://"+addr+"/fast")

	cases := []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/fast", 200, `{"method":"GET","path":"/fast"}`, ""},
		{"HEAD", "/fast", 200, ``, ""},
		{"PATCH", "/fast", 405, `"error"`, "GET, HEAD"},
		{"TRACE", "/fast", 405, `"error"`, "GET, HEAD"},
		{"FROBNICATE", "/fast", 405, `"error"`, "GET, HEAD"},
		{"POST", "/alias/42/pay", 200, `{"method":"POST","path":"/real/42"}`, ""},
		{"POST", "/alias/042/pay", 404, `"error"`, ""},
		{"POST", "/alias/+42/pay", 404, `"error"`, ""},
		{"GET", "/down", 502, `"error"`, ""},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(raw), tc.method) && tc.status >= 400 {
			t.Errorf("%s %s echoes the method: %s", tc.method, tc.path, raw)
		}
		if resp.StatusCode != tc.status || !strings.Contains(string(raw), tc.body) || resp.Header.Get("Allow") != tc.allow ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s = %d %q Allow %q (%s); want %d %q Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Content-Type"),
				resp.Header.Get("Allow"), raw, tc.status, tc.body, tc.allow)
		}
	}
}

// A backend with several replicas: the generated gateway balances between
// them, and when one stops, every request is still answered by the others.
func TestGeneratedGatewayBalancesReplicas(t *testing.T) {
	var replicas []*httptest.Server
	var addrs []string
	for i := range 2 {
		r := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"replica":%d}`, i)
		}))
		defer r.Close()
		replicas, addrs = append(replicas, r), append(addrs, strings.TrimPrefix(r.URL, "http://"))
	}
	cfg, err := krakend.Load(strings.NewReader(`{"version":3,"endpoints":[
	  {"endpoint":"/r","method":"GET","timeout":"1s","output_encoding":"no-op",
	   "backend":[{"host":["http://r:1"],"url_pattern":"/r","encoding":"no-op"}]},
	  {"endpoint":"/w","method":"POST","timeout":"1s","output_encoding":"no-op",
	   "backend":[{"host":["http://r:1"],"url_pattern":"/w","encoding":"no-op"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	conf, state, addr := nginxConf(t, cfg, map[string][]string{"http://r:1": addrs})
	if out, err := exec.Command("nginx", "-c", conf, "-p", state).CombinedOutput(); err != nil {
		t.Fatalf("start nginx: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("nginx", "-c", conf, "-p", state, "-s", "stop").Run() })
	waitHTTP(t, "http://"+addr+"/r")
	answered := func(method, path string, n int) map[string]int {
		by := map[string]int{}
		for range n {
			req, _ := http.NewRequest(method, "http://"+addr+path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			by[fmt.Sprintf("%d %s", resp.StatusCode, raw)]++
		}
		return by
	}
	if got := answered("GET", "/r", 10); got[`200 {"replica":0}`] == 0 || got[`200 {"replica":1}`] == 0 {
		t.Fatalf("both replicas up: answers %v, want both replicas to answer", got)
	}
	replicas[0].Close()
	for _, method := range []string{"GET", "POST"} {
		path := map[string]string{"GET": "/r", "POST": "/w"}[method]
		if got := answered(method, path, 10); got[`200 {"replica":1}`] != 10 {
			t.Errorf("%s with one replica stopped: answers %v, want all 10 from the other", method, got)
		}
	}
}
