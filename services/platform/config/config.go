// Package config reads the settings shared by the binaries and the tests from
// the environment. Every default points at the native stack on loopback; the
// passwords in them are local development defaults.
package config

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Stack locates the infrastructure every binary talks to.
type Stack struct {
	StoreDSN     string // store database, owned by store-manager
	PaymentsDSN  string // payments database, owned by payments
	AdminDSN     string // server administrator: scratch databases and grants (operators, tests)
	RedisAddr    string
	KafkaBrokers string
	ConnectURL   string // Kafka Connect REST API
}

// Load reads the stack settings, falling back to the native stack's defaults.
func Load() Stack {
	return Stack{
		StoreDSN:     Env("STORE_DB_DSN", "store:store@tcp(127.0.0.1:3306)/store?parseTime=true"),
		PaymentsDSN:  Env("PAYMENTS_DB_DSN", "payments:payments@tcp(127.0.0.1:3306)/payments?parseTime=true"),
		AdminDSN:     Env("ADMIN_DB_DSN", "admin:admin@tcp(127.0.0.1:3306)/?parseTime=true"),
		RedisAddr:    Env("REDIS_ADDR", "127.0.0.1:6379"),
		KafkaBrokers: Env("KAFKA_BROKERS", "127.0.0.1:9092"),
		ConnectURL:   Env("KAFKA_CONNECT_URL", "http://127.0.0.1:8083"),
	}
}

// Env returns the environment variable key, or def when it is unset or empty.
func Env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// EnvDuration returns the duration in key (such as "250ms"), or def when it is
// unset or malformed.
func EnvDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

// EnvBool returns the boolean in key ("true", "false", "1", "0"), def when it
// is unset, and an error naming key when it is neither.
func EnvBool(key string, def bool) (bool, error) {
	v := os.Getenv(key)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s must be true or false, not %q", key, v)
	}
	return b, nil
}
