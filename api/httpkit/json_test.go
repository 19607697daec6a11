package httpkit_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/services/platform/errs"
)

type testOrder struct {
	UserID *int64 `json:"user_id" required:"true"`
	Items  *[]struct {
		ProductID *int64          `json:"product_id"`
		Quantity  *httpkit.Number `json:"quantity"`
	} `json:"items" required:"true"`
	Note *string `json:"note"`
}

// Bodies are read strictly, and each refusal says what is wrong.
func TestDecodeIsStrict(t *testing.T) {
	cases := []struct {
		name, body, msg string // msg: "" when accepted
	}{
		{"an order", `{"user_id": 1, "items": [{"product_id": 2, "quantity": 3}]}`, ""},
		{"a quantity written out", `{"user_id": 1, "items": [{"product_id": 2, "quantity": 3.50}]}`, ""},
		{"a key in another case", `{"User_ID": 1, "items": []}`, "unknown field User_ID"},
		{"a duplicate key", `{"user_id": 1, "user_id": 2, "items": []}`, "field user_id appears more than once"},
		{"a nested duplicate key", `{"user_id": 1, "items": [{"quantity": 1, "quantity": 1}]}`, "field items[0].quantity appears more than once"},
		{"a number as a string", `{"user_id": "1", "items": []}`, "field user_id must be a whole number"},
		{"a quantity as a string", `{"user_id": 1, "items": [{"quantity": "3"}]}`, "field items[0].quantity must be a number"},
		{"a fraction for an id", `{"user_id": 1.5, "items": []}`, "field user_id must be a whole number"},
		{"invalid UTF-8", "{\"user_id\": 1, \"items\": [], \"note\": \"\xff\"}", "not valid UTF-8"},
		{"an unknown field", `{"user_id": 1, "items": [], "coupon": "x"}`, "unknown field coupon"},
		{"trailing data", `{"user_id": 1, "items": []} {}`, "single JSON object"},
		{"trailing garbage", `{"user_id": 1, "items": []} x`, "single JSON object"},
		{"not an object", `[1]`, "must be a JSON object"},
		{"empty", ``, "body is empty"},
		{"not JSON", `{"user_id": `, "not valid JSON"},
		{"a required field missing", `{"items": []}`, "field user_id is required"},
		{"a required field null", `{"user_id": null, "items": []}`, "field user_id is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/orders", strings.NewReader(tc.body))
			var v testOrder
			err := httpkit.Decode(httptest.NewRecorder(), req, &v)
			switch {
			case tc.msg == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg) || !errors.Is(err, errs.BadRequest)):
				t.Fatalf("= %v, want a bad request saying %q", err, tc.msg)
			}
		})
	}
}
