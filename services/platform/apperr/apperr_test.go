package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/store-manager/store-manager/services/platform/apperr"
)

func TestErrorf(t *testing.T) {
	kind := errors.New("not found")
	other := errors.New("other")
	err := apperr.Errorf(kind, "order %d not found", 7)
	cases := []struct {
		name string
		err  error
		is   error
		want bool
	}{
		{"own kind", err, kind, true},
		{"wrapped", fmt.Errorf("ctx: %w", err), kind, true},
		{"other kind", err, other, false},
	}
	for _, tc := range cases {
		if got := errors.Is(tc.err, tc.is); got != tc.want {
			t.Errorf("%s: errors.Is = %t, want %t", tc.name, got, tc.want)
		}
	}
	if err.Error() != "order 7 not found" {
		t.Errorf("message = %q", err.Error())
	}
}
