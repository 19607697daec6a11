package store

import (
	"regexp"
	"unicode/utf8"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// Patterns of text fields, written once for the service's checks and the
// OpenAPI document (a test holds them equal), in the syntax both Go's and
// JSON Schema's regular expressions read.
const (
	// blank is what shows nothing: spaces, and the invisible format characters (soft hyphen,
	// zero-width spaces and joiners, direction marks) that a name can neither begin nor end with.
	blank   = "\t\n\v\f\r \u00a0\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\u00ad\u180e"
	control = "\x00-\x1f\u007f-\u009f"

	// NamePattern is a name or SKU: no control characters, and neither
	// empty nor starting or ending with a space or an invisible character,
	// so it shows at least one visible character.
	NamePattern = "^[^" + blank + control + "]([^" + control + "]*[^" + blank + control + "])?$"

	// LinkPattern is a payment link: an absolute http or https URL with a
	// host name or address, an optional port, and a plain path and query.
	LinkPattern = `^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?(/[A-Za-z0-9._~/?=&-]*)?$`
)

var (
	nameRE = regexp.MustCompile(NamePattern)
	linkRE = regexp.MustCompile(LinkPattern)
)

// checkName accepts a name of at most maxLen characters matching NamePattern.
func checkName(field, v string, maxLen int) error {
	switch {
	case v == "":
		return errs.Errorf(ErrInvalid, "%s is required", field)
	case utf8.RuneCountInString(v) > maxLen:
		return errs.Errorf(ErrInvalid, "%s is longer than %d characters", field, maxLen)
	case !nameRE.MatchString(v):
		return errs.Errorf(ErrInvalid, "%s must not hold control characters nor begin or end with a space or an invisible character", field)
	}
	return nil
}

// checkLink accepts a payment link of at most MaxPaymentLink characters
// matching LinkPattern.
func checkLink(link string) error {
	if len(link) > MaxPaymentLink {
		return errs.Errorf(ErrInvalid, "payment_link is longer than %d characters", MaxPaymentLink)
	}
	if !linkRE.MatchString(link) {
		return errs.Errorf(ErrInvalid, "payment_link must be an absolute http or https URL")
	}
	return nil
}
