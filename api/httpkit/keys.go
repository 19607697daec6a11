package httpkit

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/store-manager/store-manager/services/platform/errs"
)

// Key is an API key that guards routes: who holds it and the header it is sent in.
type Key struct {
	Header string
	Value  string // empty refuses every request: a guarded route is never open by accident
	Holder string // "employee", "service": named in the refusal
}

// Check answers 401 without the key and 403 with a wrong one.
func (k Key) Check(r *http.Request) error {
	sent := r.Header.Get(k.Header)
	switch {
	case sent == "":
		return errs.Errorf(errs.Unauthorized, "%s %s API key is required: send it in the %s header", article(k.Holder), k.Holder, k.Header)
	case k.Value == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(k.Value)) != 1:
		return errs.Errorf(errs.Forbidden, "the %s API key is not valid", k.Holder)
	}
	return nil
}

// article is "an" before a vowel, else "a".
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}

// Guard lets a request reach h only with the key.
func (k Key) Guard(h Handler) Handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		if err := k.Check(r); err != nil {
			return err
		}
		return h(w, r, ps)
	}
}
