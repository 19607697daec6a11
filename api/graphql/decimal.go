package graphql

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/money"
)

// Decimal is an amount of money as a decimal string, written to GraphQL
// clients as a JSON number literal so no float rounding happens here.
type Decimal string

// MarshalGQL writes the decimal as a JSON number.
func (d Decimal) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, string(d)) }

// UnmarshalGQL reads a decimal from a GraphQL number or string.
func (d *Decimal) UnmarshalGQL(v any) error {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case int, int64:
		s = fmt.Sprint(x)
	default:
		return errs.Errorf(errs.Invalid, "a decimal must be a number or a string, not %T", v)
	}
	c, err := money.Parse(s)
	if err != nil {
		return errs.Errorf(errs.Invalid, "%v", err)
	}
	*d = Decimal(c.String())
	return nil
}
