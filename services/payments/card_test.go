package payments

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCheckCard(t *testing.T) {
	s := &Service{cfg: Config{Now: func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }}}
	good := Card{Number: "4242424242424242", Code: "123", Expiration: "12/30"}
	cases := []struct {
		name string
		card Card
		ok   bool
	}{
		{"valid", good, true},
		{"valid with a 4-digit code", Card{"4111111111111111", "1234", "11/2026"}, true},
		{"spaces in the number", Card{"4242 4242 4242 4242", "123", "12/30"}, false},
		{"dashes in the number", Card{"4111-1111-1111-1111", "123", "12/30"}, false},
		{"all zeros, whose checksum holds", Card{"000000000000", "123", "12/30"}, false},
		{"all zeros, 16 of them", Card{"0000000000000000", "123", "12/30"}, false},
		{"20 years ahead", Card{good.Number, "123", "12/2046"}, true},
		{"21 years ahead", Card{good.Number, "123", "01/2047"}, false},
		{"a far year", Card{good.Number, "123", "01/9999"}, false},
		{"a space around the expiry", Card{good.Number, "123", " 12/30"}, false},
		{"expires this month", Card{good.Number, "123", "11/26"}, true},
		{"expired last month", Card{good.Number, "123", "10/26"}, false},
		{"bad checksum", Card{"4242424242424241", "123", "12/30"}, false},
		{"letters", Card{"4242abcd42424242", "123", "12/30"}, false},
		{"too short", Card{"4242", "123", "12/30"}, false},
		{"code too short", Card{good.Number, "12", "12/30"}, false},
		{"code not digits", Card{good.Number, "12a", "12/30"}, false},
		{"month 13", Card{good.Number, "123", "13/30"}, false},
		{"no slash", Card{good.Number, "123", "1230"}, false},
		{"empty", Card{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.checkCard(tc.card)
			if (err == nil) != tc.ok {
				t.Fatalf("checkCard = %v, want ok=%t", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

// Card data never reaches a log through fmt.
func TestCardIsRedacted(t *testing.T) {
	c := Card{Number: "4242424242424242", Code: "123", Expiration: "12/30"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		for _, secret := range []string{c.Number, c.Code} {
			if strings.Contains(s, secret) {
				t.Fatalf("formatted card %q shows %q", s, secret)
			}
		}
	}
}
