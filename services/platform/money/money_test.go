package money_test

import (
	"errors"
	"testing"

	"github.com/store-manager/store-manager/services/platform/money"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		want    money.Cents
		wantErr bool
	}{
		{"0", 0, false},
		{"12", 1200, false},
		{"12.5", 1250, false},
		{"1999.99", 199999, false},
		{"9999999999.99", money.Max, false},
		{"", 0, true},
		{"-1", 0, true},
		{"-0", 0, false},
		{"-0.0", 0, false},
		{"-0.01", 0, true},
		{"--0", 0, true},
		{"1.999", 0, true},
		{"1.", 0, true},
		{".5", 0, true},
		{"1e3", 0, true},
		{"12,50", 0, true},
		{"99999999999", 0, true},
		{"NaN", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := money.Parse(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("Parse(%q) = %d, %v; want %d, error %t", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// An exponent gets a message of its own, not the generic format error.
func TestParseNamesExponents(t *testing.T) {
	for _, in := range []string{"1e3", "1.5E2", "-0e0", "12.50e-0"} {
		if _, err := money.Parse(in); !errors.Is(err, money.ErrExponent) {
			t.Errorf("Parse(%q) = %v, want ErrExponent", in, err)
		}
	}
}

func TestString(t *testing.T) {
	for c, want := range map[money.Cents]string{0: "0.00", 5: "0.05", 199999: "1999.99", -150: "-1.50"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", c, got, want)
		}
	}
}
