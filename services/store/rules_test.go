package store

import (
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"Ada Byron", true},
		{"É", true},
		{"a  b", true},
		{"", false},
		{" ", false},
		{" Ann", false},
		{"Ann ", false},
		{"Ann\u00a0", false},
		{"\u3000Ann", false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\u0085b", false},
		{"\u200b", false},             // a zero-width space alone shows nothing
		{"\u200d\u2060\u00ad", false}, // nor do joiners and a soft hyphen
		{"\u200fAnn", false},
		{"👩\u200d💻", true}, // a joiner inside a name is fine
		{strings.Repeat("é", 10), true},
		{strings.Repeat("é", 11), false},
	}
	for _, tc := range cases {
		if err := checkName("name", tc.in, 10); (err == nil) != tc.ok {
			t.Errorf("checkName(%q) = %v, want ok %t", tc.in, err, tc.ok)
		}
	}
}

func TestCheckLink(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"http://127.0.0.1:8080/payments/process/3", true},
		{"https://pay.example.com", true},
		{"https://pay.example.com/a?b=c&d=e", true},
		{"javascript:alert(1)", false},
		{"/payments/process/3", false},
		{"ftp://example.com/x", false},
		{"http://", false},
		{"http://user:pw@example.com/", false},
		{"http://example.com/a b", false},
		{"http://example.com/\"><script>", false},
		{"https://example.com/" + strings.Repeat("a", 236), false},
	}
	for _, tc := range cases {
		if err := checkLink(tc.in); (err == nil) != tc.ok {
			t.Errorf("checkLink(%q) = %v, want ok %t", tc.in, err, tc.ok)
		}
	}
}
