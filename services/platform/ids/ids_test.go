package ids_test

import (
	"testing"

	"github.com/store-manager/store-manager/services/platform/ids"
)

func TestParseAcceptsOnlyCanonicalIDs(t *testing.T) {
	cases := []struct {
		in   string
		id   int64
		want bool
	}{
		{"1", 1, true},
		{"42", 42, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"9223372036854775808", 0, false},
		{"+1", 0, false},
		{"-1", 0, false},
		{"01", 0, false},
		{"0", 0, false},
		{" 1", 0, false},
		{"1 ", 0, false},
		{"1.0", 0, false},
		{"1e0", 0, false},
		{"0x1", 0, false},
		{"١", 0, false}, // an Arabic-Indic digit one
		{"", 0, false},
	}
	for _, tc := range cases {
		id, ok := ids.Parse(tc.in)
		if ok != tc.want || id != tc.id {
			t.Errorf("Parse(%q) = %d, %t; want %d, %t", tc.in, id, ok, tc.id, tc.want)
		}
	}
}
