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
	cases := []struct {
		binary    string
		forbidden []string
	}{
		{"./cmd/payments", []string{mod + "services/store", mod + "db/store", mod + "api/storeapi", mod + "api/graphql", operations, "github.com/redis/go-redis"}},
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

// The rooms of the tree, by import path under the module.
const (
	mod        = "github.com/store-manager/store-manager/"
	platform   = mod + "services/platform/" // the runtime libraries both services link
	operations = mod + "operations/"        // connectors and their supervision, Kafka inspection, saga reports, the console
	testkit    = mod + "testkit/"           // what tests share; never linked by a binary
)

// Each room imports only what sits below it: the runtime libraries import
// no service, no operations code and no test kit; the services and their
// APIs import no operations code (the binaries wire the console and the
// reports in); operations code serves HTTP with the APIs' kit (api/httpkit)
// but no API; nothing but tests imports a test kit.
func TestRoomsImportOnlyDownward(t *testing.T) {
	rules := []struct {
		room      string
		forbidden []string
	}{
		{platform, []string{mod + "services/store", mod + "services/payments", mod + "api/", operations, testkit, mod + "cmd/"}},
		{mod + "services/store", []string{mod + "services/payments", mod + "api/", operations, testkit, mod + "cmd/"}},
		{mod + "services/payments", []string{mod + "services/store", mod + "api/", operations, testkit, mod + "cmd/"}},
		{mod + "api/", []string{operations, testkit, mod + "cmd/"}},
		{operations, []string{mod + "api/storeapi", mod + "api/paymentsapi", mod + "api/graphql", testkit, mod + "cmd/"}},
	}
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, r := range rules {
			if !strings.HasPrefix(pkg+"/", r.room) && !strings.HasPrefix(pkg, r.room) {
				continue
			}
			for _, imp := range strings.Fields(imports) {
				for _, f := range r.forbidden {
					if strings.HasPrefix(imp+"/", f) || strings.HasPrefix(imp, f) {
						t.Errorf("%s imports %s", pkg, imp)
					}
				}
			}
		}
	}
}

// Test kits are imported by tests alone, and the binaries link none.
func TestTestKitsStayInTests(t *testing.T) {
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, testkit) && !strings.HasPrefix(pkg, testkit) {
				t.Errorf("%s imports the test kit %s outside its tests", pkg, imp)
			}
		}
	}
}

// The system tests and the API tests are test packages only: nothing imports them.
func TestTestSuitesAreNotImported(t *testing.T) {
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, "./...") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			if imp == mod+"systemtest" || imp == mod+"api/e2e" {
				t.Errorf("%s imports the test suite %s", pkg, imp)
			}
		}
	}
}
