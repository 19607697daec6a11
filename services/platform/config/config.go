// Package config reads the settings shared by the binaries and the tests from
// the environment. Every default points at the native stack on loopback; the
// passwords in them are local development defaults.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Stack locates the infrastructure every binary talks to.
type Stack struct {
	StoreDSN    string // store database, owned by store-manager
	PaymentsDSN string // payments database, owned by payments
	AdminDSN    string // server administrator: scratch databases and grants (operators, tests)
	RedisAddr   string
	// RedisPassword is Redis's password (REDIS_PASSWORD): none natively, where Redis
	// listens on loopback only; compose sets one.
	RedisPassword string
	KafkaBrokers  string // every broker, comma-separated
	ConnectURL    string // Kafka Connect REST API: each worker's, comma-separated
	// Namespace keeps one instance of the system apart from another: "" for
	// the one make run serves, "test" for make test's (on infrastructure of
	// its own, see Instance), or a package test's scratch namespace. It
	// prefixes topics, consumer groups, connectors and read-model keys; the
	// databases are named by the DSNs.
	Namespace string
}

// Topic is the broker's name for topic in this namespace.
func (s Stack) Topic(topic string) string { return s.prefix(".") + topic }

// Group is the consumer group's name in this namespace.
func (s Stack) Group(group string) string { return s.prefix(".") + group }

// Connector is the worker's name of the Debezium connector name in this namespace.
func (s Stack) Connector(name string) string { return s.prefix("-") + name }

// RedisPrefix starts every read-model key in this namespace.
func (s Stack) RedisPrefix() string { return s.prefix(":") + "rm:" }

func (s Stack) prefix(sep string) string {
	if s.Namespace == "" {
		return ""
	}
	return s.Namespace + sep
}

// Load reads the stack settings, falling back to the native stack's
// defaults: the infrastructure and databases of the instance STACK_NAMESPACE names.
func Load() Stack { return orUnnamed(os.Getenv("STACK_NAMESPACE")).Stack() }

// Env returns the environment variable key, or def when it is unset or empty.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Reader reads typed settings from the environment and collects every
// malformed one, so a service names all its configuration errors at start
// instead of running on defaults it was not given.
type Reader struct {
	errs []error
}

// Duration returns the duration in key (such as "250ms"), or def when key is unset.
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s must be a positive duration such as 30s, not %q", key, v))
		return def
	}
	return d
}

// Count returns the positive whole number in key, or def when key is unset.
func (r *Reader) Count(key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s must be a positive whole number, not %q", key, v))
		return def
	}
	return n
}

// Bool returns the boolean in key ("true", "false", "on", "off", "1", "0"),
// or def when key is unset.
func (r *Reader) Bool(key string, def bool) bool {
	v := os.Getenv(key)
	switch v {
	case "":
		return def
	case "on":
		return true
	case "off":
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s must be on or off, not %q", key, v))
		return def
	}
	return b
}

// Loopback reports whether addr (host:port) is reachable from this machine
// only: a loopback address or localhost.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Check records err, when not nil, as the error of setting key.
func (r *Reader) Check(key string, err error) {
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %w", key, err))
	}
}

// Err is every malformed setting read so far, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }
