package graphql_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/api/graphql"
)

// A browser opening /graphql gets GraphiQL; API clients are answered as before.
func TestBrowserGetsGraphiQL(t *testing.T) {
	srv := serve(t, &graphql.Resolver{}, graphql.Options{})
	cases := []struct {
		name, path, accept string
		status             int
		contentType, body  string
	}{
		{"browser", "/graphql", "text/html,application/xhtml+xml,*/*;q=0.8", 200, "text/html", "graphiql"},
		{"API client without a query", "/graphql", "application/json", 400, "application/json", "error"},
		{"browser sending a query", "/graphql?query=%7B__typename%7D", "text/html", 200, "application/json", "__typename"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
			req.Header.Set("Accept", tc.accept)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.contentType) ||
				!strings.Contains(strings.ToLower(string(raw)), strings.ToLower(tc.body)) {
				t.Fatalf("GET %s (Accept %s) = %d %s %.200s; want %d %s with %q", tc.path, tc.accept, resp.StatusCode,
					resp.Header.Get("Content-Type"), raw, tc.status, tc.contentType, tc.body)
			}
		})
	}
}
