// Package money handles amounts as integer cents, to and from the DECIMAL
// strings that the databases and the APIs use. Amounts are never floats.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Max is the largest amount a DECIMAL(12,2) column holds, in cents.
const Max Cents = 9_999_999_999_99

// Cents is an amount of money in hundredths.
type Cents int64

// ErrFormat is returned for a string that is not a non-negative amount with
// at most two decimals.
var ErrFormat = errors.New("not an amount with at most two decimals")

// ErrExponent is returned for an amount written with an exponent (1.5e2):
// amounts are written out, so what is stored is what was sent.
var ErrExponent = errors.New("an amount is written without an exponent, such as 150 or 12.50")

// Parse reads "12", "12.5" or "12.50" ("-0" is zero). Negative, exponent and
// over-Max values fail.
func Parse(s string) (Cents, error) {
	if strings.ContainsAny(s, "eE") {
		return 0, fmt.Errorf("%q: %w", s, ErrExponent)
	}
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		if c, err := Parse(rest); err != nil || c != 0 || strings.HasPrefix(rest, "-") {
			return 0, fmt.Errorf("%q: %w", s, ErrFormat)
		}
		return 0, nil
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || len(whole) > 10 {
		return 0, fmt.Errorf("%q: %w", s, ErrFormat)
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q: %w", s, ErrFormat)
		}
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, ErrFormat)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	c := Cents(w*100 + f)
	if c > Max {
		return 0, fmt.Errorf("%q: over the largest amount %s", s, Max)
	}
	return c, nil
}

// String formats as a decimal with two places, such as "1999.99".
func (c Cents) String() string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
