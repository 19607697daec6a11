// Package krakend reads the gateway's one configuration, krakend/krakend.json,
// and renders it as an nginx configuration for the native stack, where no
// KrakenD binary can run: the same routes, methods, timeouts, rate limits and
// circuit breakers, declared once.
package krakend

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// JSON is krakend/krakend.json, as committed.
//
//go:embed krakend.json
var JSON []byte

// Config is the part of a KrakenD configuration that the gateway uses.
type Config struct {
	Version   int        `json:"version"`
	Port      int        `json:"port"`
	Timeout   string     `json:"timeout"`
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one public route.
type Endpoint struct {
	Path              string   `json:"endpoint"`
	Method            string   `json:"method"`
	Timeout           string   `json:"timeout"`
	OutputEncoding    string   `json:"output_encoding"`
	InputHeaders      []string `json:"input_headers"`
	InputQueryStrings []string `json:"input_query_strings"`
	ExtraConfig       struct {
		RateLimit *RateLimit `json:"qos/ratelimit/router"`
		// Websocket is KrakenD Enterprise's: KrakenD CE ignores it (it cannot
		// carry a WebSocket), the native gateway proxies the upgrade.
		Websocket *Websocket `json:"websocket"`
	} `json:"extra_config"`
	Backends []Backend `json:"backend"`
}

// RateLimit is KrakenD's router rate limit: a token bucket for all clients
// together and one per client.
type RateLimit struct {
	MaxRate        float64 `json:"max_rate"`
	Capacity       int     `json:"capacity"`
	ClientMaxRate  float64 `json:"client_max_rate"`
	ClientCapacity int     `json:"client_capacity"`
	Strategy       string  `json:"strategy"`
}

// Websocket is the part of KrakenD Enterprise's websocket settings the
// gateway uses: an endpoint that has them carries long-lived streams.
type Websocket struct {
	DirectCommunication bool     `json:"enable_direct_communication"`
	Subprotocols        []string `json:"subprotocols"`
}

// Backend is the service an endpoint forwards to.
type Backend struct {
	Hosts       []string `json:"host"`
	URLPattern  string   `json:"url_pattern"`
	Method      string   `json:"method"`
	Encoding    string   `json:"encoding"`
	ExtraConfig struct {
		CircuitBreaker *CircuitBreaker `json:"qos/circuit-breaker"`
	} `json:"extra_config"`
}

// CircuitBreaker is KrakenD's per-backend circuit breaker.
type CircuitBreaker struct {
	Interval  int    `json:"interval"`
	Timeout   int    `json:"timeout"`
	MaxErrors int    `json:"max_errors"`
	Name      string `json:"name"`
}

// Load parses a KrakenD configuration and checks what the gateway relies on.
func Load(r io.Reader) (Config, error) {
	var c Config
	if err := json.NewDecoder(r).Decode(&c); err != nil {
		return Config{}, fmt.Errorf("parse krakend config: %w", err)
	}
	if c.Version != 3 {
		return Config{}, fmt.Errorf("krakend config version %d, want 3", c.Version)
	}
	seen := map[string]bool{}
	for i, e := range c.Endpoints {
		where := fmt.Sprintf("endpoint %d (%s %s)", i, e.Method, e.Path)
		if !strings.HasPrefix(e.Path, "/") || e.Method == "" {
			return Config{}, fmt.Errorf("%s: a path and a method are required", where)
		}
		if seen[e.Method+" "+e.Path] {
			return Config{}, fmt.Errorf("%s: declared twice", where)
		}
		seen[e.Method+" "+e.Path] = true
		if _, err := c.EndpointTimeout(e); err != nil {
			return Config{}, fmt.Errorf("%s: %w", where, err)
		}
		if len(e.Backends) != 1 || len(e.Backends[0].Hosts) == 0 {
			return Config{}, fmt.Errorf("%s: exactly one backend, with its hosts, is supported", where)
		}
		b := e.Backends[0]
		for _, p := range paramRE.FindAllString(b.URLPattern, -1) {
			if !strings.Contains(e.Path, p) {
				return Config{}, fmt.Errorf("%s: url_pattern parameter %s is not a parameter of the endpoint", where, p)
			}
		}
		if e.OutputEncoding != "no-op" || b.Encoding != "no-op" {
			return Config{}, fmt.Errorf("%s: endpoints pass responses through unchanged (no-op encoding)", where)
		}
	}
	return c, nil
}

// Default returns the committed configuration.
func Default() (Config, error) { return Load(bytes.NewReader(JSON)) }

// EndpointTimeout is the endpoint's timeout, or the global one.
func (c Config) EndpointTimeout(e Endpoint) (time.Duration, error) {
	s := e.Timeout
	if s == "" {
		s = c.Timeout
	}
	if s == "" {
		return 3 * time.Second, nil // KrakenD's default
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q is not a positive duration", s)
	}
	return d, nil
}
