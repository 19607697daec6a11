// Package systemtest tests the whole running system as its operators meet
// it: components killed mid-stream (chaos), faults of the pipeline and their
// healing, the operators' tools, the console in a browser, the dashboards,
// the listening ports; and, behind build tags, the benchmark (bench) and the
// soak (soak). Its tests stop, kill and restart parts of the system, so it
// runs last and one test at a time.
package systemtest

import (
	"testing"

	"github.com/store-manager/store-manager/testkit/systemkit"
)

func TestMain(m *testing.M) { systemkit.Main(m) }
