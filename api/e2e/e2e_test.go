// Package e2e tests the system's APIs through the gateway, as its clients
// use them: the order saga across store-manager and payments, the keys that
// guard each route, the gateway's answers and limits, and what a client may
// not do. It needs the running system (make test starts its own instance)
// and runs its tests one at a time.
package e2e

import (
	"testing"

	"github.com/store-manager/store-manager/testkit/systemkit"
)

func TestMain(m *testing.M) { systemkit.Main(m) }
