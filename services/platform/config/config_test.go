package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/platform/config"
)

// A malformed setting is an error naming it, never a silent default.
func TestReaderNamesEveryMalformedSetting(t *testing.T) {
	cases := []struct {
		name, value string
		wantErr     bool
	}{
		{"unset", "", false},
		{"good", "30s", false},
		{"no unit", "30", true},
		{"negative", "-1s", true},
		{"words", "soon", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TEST_TIMEOUT", tc.value)
			var r config.Reader
			d := r.Duration("TEST_TIMEOUT", time.Minute)
			err := r.Err()
			if (err != nil) != tc.wantErr || (err != nil && !strings.Contains(err.Error(), "TEST_TIMEOUT")) {
				t.Fatalf("Duration(%q) = %s, %v", tc.value, d, err)
			}
		})
	}
	t.Setenv("TEST_FLAG", "yes")
	t.Setenv("TEST_TIMEOUT", "later")
	var r config.Reader
	r.Bool("TEST_FLAG", false)
	r.Duration("TEST_TIMEOUT", time.Second)
	r.Check("TEST_AMOUNT", errors.New("not an amount"))
	for _, key := range []string{"TEST_FLAG", "TEST_TIMEOUT", "TEST_AMOUNT"} {
		if err := r.Err(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Err() = %v, does not name %s", err, key)
		}
	}
}

// Bool reads on and off as well as Go's booleans.
func TestReaderBool(t *testing.T) {
	for value, want := range map[string]bool{"": true, "on": true, "off": false, "false": false, "0": false, "true": true} {
		t.Setenv("TEST_FLAG", value)
		var r config.Reader
		if got := r.Bool("TEST_FLAG", true); got != want || r.Err() != nil {
			t.Errorf("Bool(%q) = %v, %v; want %v", value, got, r.Err(), want)
		}
	}
}

// Only loopback addresses count as reachable from this machine alone.
func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.1.2.3:80": true, "localhost:5000": true, "[::1]:5000": true,
		"0.0.0.0:5000": false, ":5000": false, "10.0.0.1:5000": false, "[::]:5000": false, "example.com:80": false, "nonsense": false,
	} {
		if got := config.Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
