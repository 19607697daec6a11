package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// maxGraphQLBody is the GraphQL endpoint's body cap.
const maxGraphQLBody = 64 << 10

// costlyDocuments are the documents that made validation expensive, each
// built to about size bytes: the review's reproductions and their relatives.
func costlyDocuments(size int) map[string]string {
	fill := func(unit string, rest int) string { return strings.Repeat(unit, max(1, (size-rest)/len(unit))) }
	numbered := func(format string, rest int) string {
		var b strings.Builder
		for i := 0; b.Len() < size-rest; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	return map[string]string{
		"unused fragment of repeated fields":  `{ __typename } fragment U on Product { ` + fill("id ", 40) + `}`,
		"duplicate fragment name":             `{ product(id: "1") { ...U } } fragment U on Product { id } fragment U on Product { ` + fill("id ", 90) + `}`,
		"repeated fields in the operation":    `{ product(id: "1") { ` + fill("id ", 25) + `} }`,
		"aliases":                             `{ ` + numbered(`a%d: __typename `, 4) + `}`,
		"conflicting aliases":                 `{ ` + numbered(`a: product(id: "%d") { id } `, 4) + `}`,
		"repeated arguments":                  `{ product(` + fill(`id: "1" `, 20) + `) { id } }`,
		"repeated input fields":               `{ product(id: {` + fill("a: 1 ", 20) + `}) { id } }`,
		"unused variables":                    `query(` + numbered(`$v%d: Int `, 20) + `) { __typename }`,
		"many operations":                     numbered(`query q%d { __typename } `, 0),
		"many anonymous operations":           fill("{ __typename } ", 0),
		"a long list value":                   `{ product(id: [` + fill("1 ", 20) + `]) { id } }`,
		"a long string value":                 `{ product(id: "` + fill("9", 20) + `") { id } }`,
		"inline fragments":                    `{ product(id: "1") { ` + fill("... on Product { id } ", 25) + `} }`,
		"spreads of one fragment into itself": `{ product(id: "1") { ...A } } fragment A on Product { ` + fill("...A ", 60) + `}`,
	}
}

// Every costly document, posted as anonymous clients can through the
// gateway, is answered with JSON (the small ones may run) and costs store-manager under 50 ms of CPU,
// from a few hundred bytes up to the body cap. Each is sent five times with a
// different comment, so no cached verdict answers it.
func TestGraphQLWorkIsBoundedByWhatIsSent(t *testing.T) {
	stacktest.Stack(t)
	gateway := stacktest.NewClient(systemkit.GatewayURL())
	pid := systemkit.PidOf(t, "store-manager")
	const tries = 5
	for _, size := range []int{512, 4 << 10, 16 << 10, maxGraphQLBody - 256} {
		for name, doc := range costlyDocuments(size) {
			t.Run(fmt.Sprintf("%s, %d bytes", name, size), func(t *testing.T) {
				before := cpu(t, pid)
				for i := range tries {
					q := fmt.Sprintf("%s\n# %d %s", doc, i, stacktest.Suffix())
					r := gateway.Do(t, "POST", "/graphql", map[string]any{"query": q})
					if r.Status >= 500 || r.JSON == nil {
						t.Fatalf("= %d %.300s, want a JSON answer", r.Status, r.Raw)
					}
				}
				if per := (cpu(t, pid) - before) / tries; per > 0.050 {
					t.Fatalf("%.0f ms of CPU per request, want under 50", per*1000)
				}
			})
		}
	}
}

// The review's GET: a 7.5 KB URL any web page could load as an image.
func TestGraphQLGetOfAnUnusedFragmentIsCheap(t *testing.T) {
	stacktest.Stack(t)
	gateway := stacktest.NewClient(systemkit.GatewayURL())
	pid := systemkit.PidOf(t, "store-manager")
	before := cpu(t, pid)
	const tries = 10
	for i := range tries {
		q := fmt.Sprintf(`{ __typename } fragment U on Product { %s} # %d`, strings.Repeat("id ", 2500), i)
		r := gateway.Do(t, "GET", "/graphql?query="+url.QueryEscape(q), nil)
		if r.Status != 422 || r.JSON == nil {
			t.Fatalf("GET = %d %.300s, want a 422 JSON refusal", r.Status, r.Raw)
		}
	}
	if per := (cpu(t, pid) - before) / tries; per > 0.050 {
		t.Fatalf("%.0f ms of CPU per request, want under 50", per*1000)
	}
}

// A POST that is not JSON never reaches GraphQL: a web page's form or
// text/plain request, which browsers send without a CORS preflight, is 415.
func TestGraphQLPostMustBeJSON(t *testing.T) {
	stacktest.Stack(t)
	body, _ := json.Marshal(map[string]any{"query": "{ __typename }"})
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
		c := stacktest.NewClient(systemkit.GatewayURL())
		c.Header = http.Header{"Content-Type": {ct}}
		r := c.Do(t, "POST", "/graphql", body)
		if r.Status != 415 || r.JSON == nil {
			t.Fatalf("POST as %s = %d %s, want a 415 JSON refusal", ct, r.Status, r.Raw)
		}
	}
	if r := stacktest.NewClient(systemkit.GatewayURL()).Do(t, "POST", "/graphql", map[string]any{"query": "{ __typename }"}); r.Status != 200 {
		t.Fatalf("POST as application/json = %d %s", r.Status, r.Raw)
	}
}

// Refused queries leave nothing behind: after 1,000 distinct refused
// queries of the maximum size, store-manager's resident memory is under 80 MB.
func TestRefusedGraphQLQueriesAreNotKept(t *testing.T) {
	stacktest.Stack(t)
	direct := stacktest.NewClient(systemkit.Instance().StoreURL())
	pid := systemkit.PidOf(t, "store-manager")
	pad := strings.Repeat("9", maxGraphQLBody-512)
	for i := range 1000 {
		q := fmt.Sprintf(`{ __typename } fragment U%d on Product { product(id: "%s") { id } }`, i, pad)
		if r := direct.Do(t, "POST", "/graphql", map[string]any{"query": q}); r.Status != 422 {
			t.Fatalf("query %d = %d %.300s, want 422", i, r.Status, r.Raw)
		}
	}
	if mb := systemkit.RSSMB(t, pid); mb >= 80 {
		t.Fatalf("store-manager holds %.0f MB after 1,000 refused queries, want under 80", mb)
	}
}

func cpu(t *testing.T, pid int) float64 {
	t.Helper()
	s, err := systemkit.CPUSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
