package graphql

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// MarshalTime writes a time as an RFC 3339 string in UTC (the Time scalar).
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t.UTC()) }

// UnmarshalTime reads an RFC 3339 string; anything else is the client's error.
func UnmarshalTime(v any) (time.Time, error) {
	s, _ := v.(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errs.Errorf(errs.Invalid, "a Time is an RFC 3339 string such as 2026-12-01T00:00:00Z")
	}
	return t, nil
}
