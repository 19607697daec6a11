package krakend

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/template"
	"time"
)

// NginxOptions places the generated nginx.
type NginxOptions struct {
	Name     string              // names its pid, log and temp files, so gateways can run side by side (default "gateway")
	Listen   string              // address:port to listen on
	StateDir string              // where nginx keeps its pid, temp files and logs
	Backends map[string][]string // backend host URL in krakend.json -> every address:port that serves it here
}

type nginxUpstream struct {
	Name        string
	Servers     []string // each replica's address:port
	MaxFails    int
	FailTimeout int
}

type nginxRoute struct {
	Index         int
	Method        string
	Alias         bool   // HEAD beside a GET: the GET's limits, declared once
	Rewrite       string // a rewrite directive's arguments, when the backend path differs from the endpoint's
	Upstream      string
	Failover      bool // the upstream has several replicas
	Timeout       string
	ConnectTO     string
	GlobalRate    string
	GlobalBurst   int
	ClientRate    string
	ClientBurst   int
	HasRateLimits bool
}

type nginxLocation struct {
	Match   string // "= /path" or "~ ^/regex$"
	URI     string // a regex of the request URI (path and query) that reaches this location
	Path    string
	Routes  []nginxRoute
	Methods string // for the 405 answer
	Stream  bool   // a route of the path carries WebSockets: every route of it streams, unbuffered
}

var paramRE = regexp.MustCompile(`\{[^/}]+\}`)

// idPattern matches an id in its one canonical form: "+1", "01" or "1.0"
// match no route, so they never reach row 1.
const idPattern = `([1-9][0-9]{0,18})`

// pathRegexp turns /users/{user_id} into ^/users/([1-9][0-9]{0,18})$, one
// capture group per parameter, in order.
func pathRegexp(path string) string {
	parts := paramRE.Split(path, -1)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return "^" + strings.Join(parts, idPattern) + "$"
}

// location turns /users/{user_id} into an nginx location matcher.
func location(path string) string {
	if !strings.Contains(path, "{") {
		return "= " + path
	}
	return `~ "` + pathRegexp(path) + `"` // quoted: nginx reads { as a block
}

// rewrite returns the arguments of the rewrite from an endpoint's path to
// its backend's, each backend parameter taken from the endpoint's capture
// of the same name.
func rewrite(path, pattern string) string {
	captures := map[string]string{}
	for i, p := range paramRE.FindAllString(path, -1) {
		captures[p] = fmt.Sprintf("$%d", i+1)
	}
	target := paramRE.ReplaceAllStringFunc(pattern, func(p string) string { return captures[p] })
	return `"` + pathRegexp(path) + `" ` + target
}

func rate(perSecond float64) string {
	if perSecond >= 1 {
		return fmt.Sprintf("%dr/s", int(math.Round(perSecond)))
	}
	return fmt.Sprintf("%dr/m", int(math.Max(1, math.Round(perSecond*60))))
}

func seconds(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// Nginx renders the configuration as an nginx.conf.
func (c Config) Nginx(o NginxOptions) (string, error) {
	upstreams := map[string]nginxUpstream{}
	byPath := map[string]*nginxLocation{}
	var order []string
	for i, e := range c.Endpoints {
		b := e.Backends[0]
		u, err := url.Parse(b.Hosts[0])
		if err != nil {
			return "", fmt.Errorf("backend %s: %w", b.Hosts[0], err)
		}
		name := strings.NewReplacer("-", "_", ".", "_").Replace(u.Hostname())
		up := nginxUpstream{Name: name, MaxFails: 10, FailTimeout: 10}
		for _, host := range b.Hosts { // KrakenD balances between the hosts of a backend; so does nginx
			addrs := o.Backends[host]
			if len(addrs) == 0 {
				return "", fmt.Errorf("%s %s: no address given for backend %s", e.Method, e.Path, host)
			}
			up.Servers = append(up.Servers, addrs...)
		}
		slices.Sort(up.Servers)
		up.Servers = slices.Compact(up.Servers)
		if cb := b.ExtraConfig.CircuitBreaker; cb != nil {
			up.MaxFails, up.FailTimeout = cb.MaxErrors, cb.Timeout
		}
		upstreams[name] = up
		timeout, err := c.EndpointTimeout(e)
		if err != nil {
			return "", err
		}
		r := nginxRoute{
			Index: i, Method: e.Method, Upstream: name, Failover: len(up.Servers) > 1, Timeout: seconds(timeout),
			ConnectTO: seconds(min(timeout, time.Second)),
		}
		if b.URLPattern != e.Path {
			r.Rewrite = rewrite(e.Path, b.URLPattern)
		}
		if rl := e.ExtraConfig.RateLimit; rl != nil && rl.MaxRate > 0 && rl.ClientMaxRate > 0 {
			r.HasRateLimits = true
			r.GlobalRate, r.GlobalBurst = rate(rl.MaxRate), max(rl.Capacity, 1)
			r.ClientRate, r.ClientBurst = rate(rl.ClientMaxRate), max(rl.ClientCapacity, 1)
		}
		loc := byPath[e.Path]
		if loc == nil {
			loc = &nginxLocation{Match: location(e.Path), URI: strings.TrimSuffix(pathRegexp(e.Path), "$") + `(\?|$)`, Path: e.Path}
			byPath[e.Path] = loc
			order = append(order, e.Path)
		}
		loc.Routes = append(loc.Routes, r)
		loc.Stream = loc.Stream || e.ExtraConfig.Websocket != nil
		if e.Method == "GET" { // HEAD answers as GET does, without the body
			head := r
			head.Method, head.Alias = "HEAD", true
			loc.Routes = append(loc.Routes, head)
		}
	}
	var locs []nginxLocation
	for _, p := range order {
		l := byPath[p]
		methods := make([]string, len(l.Routes))
		for i, r := range l.Routes {
			methods[i] = r.Method
		}
		l.Methods = strings.Join(methods, ", ")
		locs = append(locs, *l)
	}
	ups := make([]nginxUpstream, 0, len(upstreams))
	for _, u := range upstreams {
		ups = append(ups, u)
	}
	sort.Slice(ups, func(i, j int) bool { return ups[i].Name < ups[j].Name })
	var b strings.Builder
	if o.Name == "" {
		o.Name = "gateway"
	}
	// The gateway shares the machine with the services it proxies: half its
	// cores in workers, at least one (on two cores, one worker used a sixth to
	// a fifth less CPU per proxied read than two in make bench).
	workers := max(1, runtime.NumCPU()/2)
	err := nginxTemplate.Execute(&b, map[string]any{"Name": o.Name, "Listen": o.Listen, "State": o.StateDir, "Workers": workers,
		"Upstreams": ups, "Locations": locs})
	return b.String(), err
}

var nginxTemplate = template.Must(template.New("nginx").Parse(`# Generated from krakend/krakend.json by gatewayconf. Do not edit: change krakend.json.
worker_processes {{.Workers}};
daemon on;
user root;
pid {{.State}}/run/{{.Name}}.pid;
# After a reload, the old workers close their connections within this (a stock stream stays open otherwise).
worker_shutdown_timeout 10s;
error_log {{.State}}/logs/{{.Name}}-error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path {{.State}}/nginx/{{.Name}}/client_body;
    proxy_temp_path {{.State}}/nginx/{{.Name}}/proxy;
    fastcgi_temp_path {{.State}}/nginx/{{.Name}}/fastcgi;
    uwsgi_temp_path {{.State}}/nginx/{{.Name}}/uwsgi;
    scgi_temp_path {{.State}}/nginx/{{.Name}}/scgi;
    client_max_body_size 1m;
    keepalive_requests 100000; # clients too keep their connection past nginx's default 1,000 requests
    server_tokens off;
    default_type application/json;

    # The methods of each route, for a 405 that nginx answers before it picks a location (TRACE).
    map $request_uri $gateway_allow {
        default "";
{{- range .Locations}}
        "~{{.URI}}" "{{.Methods}}";
{{- end}}
    }

    # A WebSocket upgrade is passed on; any other request keeps the upstream connection alive.
    map $http_upgrade $gateway_connection { default upgrade; "" ""; }

    limit_req_status 429;
    limit_req_log_level warn;
    # The global buckets count every client together: their key is the same for all.
    map $server_port $gateway_all { default "all"; }
{{range .Locations}}{{range .Routes}}{{if and .HasRateLimits (not .Alias)}}
    limit_req_zone $gateway_all zone=ep{{.Index}}_all:1m rate={{.GlobalRate}};
    limit_req_zone $binary_remote_addr zone=ep{{.Index}}_client:10m rate={{.ClientRate}};{{end}}{{end}}{{end}}
{{range .Upstreams}}{{$up := .}}
    # Round robin between the replicas. Circuit breaker: after {{.MaxFails}} failed
    # connections or timeouts a replica is skipped for {{.FailTimeout}}s (with none left nginx
    # answers 502), then tried again. nginx ignores max_fails in a group of one server,
    # hence a single replica is listed twice.
    upstream {{.Name}} {
        zone {{.Name}} 64k; # the failure counts are shared by every worker
{{- range .Servers}}
        server {{.}} max_fails={{$up.MaxFails}} fail_timeout={{$up.FailTimeout}}s;
{{- end}}
{{- if eq (len .Servers) 1}}
        server {{index .Servers 0}} max_fails={{.MaxFails}} fail_timeout={{.FailTimeout}}s;
{{- end}}
        keepalive 64;
        keepalive_requests 100000; # nginx closes a kept-alive connection after 1,000 by default
    }
{{end}}
    server {
        listen {{.Listen}} reuseport backlog=4096;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        # What the client asked for, port included: the console checks a form's Origin against it.
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_buffering on;
        # Failed attempts count for the circuit breaker but are never retried.
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 1;

        # Methods are dispatched through error_page 418, so the gateway's own JSON
        # error pages must be allowed to follow it.
        recursive_error_pages on;
        # A request nginx cannot read has no URI yet: its error pages are URIs, not named locations.
        error_page 400 494 /_gateway/400;
        error_page 414 /_gateway/414;
        error_page 405 /_gateway/405;
        error_page 404 = @not_found;
        error_page 413 = @too_large;
        error_page 429 = @too_many;
        error_page 500 = @failed;
        error_page 502 503 = @unavailable;
        error_page 504 = @timeout;

        # Bodies never echo the path: it is the client's, and could break the JSON.
        location = /_gateway/400 { internal; return 400 '{"error":"the gateway could not read the request"}\n'; }
        location = /_gateway/414 { internal; return 414 '{"error":"the request URI is too long"}\n'; }
        location = /_gateway/405 {
            internal;
            add_header Allow $gateway_allow always;
            return 405 '{"error":"the gateway does not allow this method on this route"}\n';
        }
        # The 404 and 405 bodies are KrakenD's (krakend.json's router error_body); neither echoes the method.
        location @not_found    { return 404 '{"error":"the gateway has no such route"}\n'; }
        location @too_large    { return 413 '{"error":"request body too large"}\n'; }
        location @too_many     { return 429 '{"error":"too many requests: retry later"}\n'; }
        location @failed       { return 500 '{"error":"the gateway failed to handle the request"}\n'; }
        location @unavailable  { return 502 '{"error":"the service behind the gateway is unavailable"}\n'; }
        location @timeout      { return 504 '{"error":"the service behind the gateway did not answer in time"}\n'; }

        location / { return 404; }
{{range .Locations}}
        location {{.Match}} {
{{- range .Routes}}
            if ($request_method = {{.Method}}) { return 418; }
{{- end}}
            # Only the declared methods: this location's own error_page hides the server's.
            add_header Allow "{{.Methods}}" always;
            return 405 '{"error":"the gateway does not allow this method on this route"}\n';
{{- $loc := .}}
            error_page 418 = @ep_{{(index .Routes 0).Index}}_${request_method};
            error_page 413 = @too_large; # a location's error_page hides the server's, so it is repeated here
        }
{{range .Routes}}
        location @ep_{{(index $loc.Routes 0).Index}}_{{.Method}} {
{{- if .HasRateLimits}}
            limit_req zone=ep{{.Index}}_all burst={{.GlobalBurst}} nodelay;
            limit_req zone=ep{{.Index}}_client burst={{.ClientBurst}} nodelay;
{{- end}}
            proxy_connect_timeout {{.ConnectTO}};
            proxy_send_timeout {{.Timeout}};
            proxy_read_timeout {{.Timeout}};
{{- if $loc.Stream}}
            # A stream (a WebSocket, or server-sent events): the upgrade is passed on, nothing is
            # buffered, and the read timeout is the longest silence (the service pings every 20 s).
            # A location's proxy_set_header hides the server's, so they are all repeated here. The
            # Host keeps its port: the service accepts a browser's WebSocket from its own origin only.
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $gateway_connection;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
{{- end}}
{{- if .Rewrite}}
            rewrite {{.Rewrite}} break;
{{- end}}
{{- if .Failover}}
            # A replica that refuses the connection or fails before answering: the next one is tried
            # (nginx never resends a POST or PUT once a replica may have received it).
            proxy_next_upstream error;
            proxy_next_upstream_tries 2;
            proxy_next_upstream_timeout {{.Timeout}};
{{- end}}
            proxy_pass http://{{.Upstream}};
        }
{{end}}{{end}}    }
}
`))
