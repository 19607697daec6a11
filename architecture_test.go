package storemanager_test

import (
	"os/exec"
	"strings"
	"testing"
)

// goList runs go list with args and returns its output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// Each deployable links only its own packages and the shared platform: the
// payments binary holds nothing of store-manager (nor Redis), and the
// other way round.
func TestDeployablesStayApart(t *testing.T) {
	const mod = "github.com/store-manager/store-manager/"
	cases := []struct {
		binary    string
		forbidden []string
	}{
		{"./cmd/payments", []string{mod + "services/store", mod + "db/store", mod + "api/storeapi", mod + "api/graphql", "github.com/redis/go-redis"}},
		{"./cmd/store-manager", []string{mod + "services/payments", mod + "db/payments", mod + "api/paymentsapi"}},
	}
	for _, tc := range cases {
		t.Run(tc.binary, func(t *testing.T) {
			for _, dep := range goList(t, "-deps", tc.binary) {
				for _, f := range tc.forbidden {
					if dep == f || strings.HasPrefix(dep, f+"/") {
						t.Errorf("%s links %s", tc.binary, dep)
					}
				}
			}
		})
	}
}

// Test helper packages are imported by tests alone.
func TestTestHelpersStayInTests(t *testing.T) {
	helpers := map[string]bool{
		"github.com/store-manager/store-manager/testkit/stacktest": true,
		"github.com/store-manager/store-manager/testkit/apitest":   true,
		"github.com/store-manager/store-manager/testkit/storetest": true,
	}
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if helpers[imp] && !helpers[pkg] {
				t.Errorf("%s imports the test helper %s outside its tests", pkg, imp)
			}
		}
	}
}
