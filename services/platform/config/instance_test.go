package config

import "testing"

// instancePortsOnly clears the variables that override an instance's
// addresses (make test sets them for its instance).
func instancePortsOnly(t *testing.T) {
	for _, k := range []string{"STORE_HTTP_ADDR", "PAYMENTS_HTTP_ADDR", "GATEWAY_ADDR", "SUPERVISOR_METRICS_ADDR"} {
		t.Setenv(k, "")
	}
}

func TestInstances(t *testing.T) {
	cases := []struct {
		name                                  string
		store2, payments1, gateway, supervise string
		database, process                     string
	}{
		{"", "127.0.0.1:5200", "127.0.0.1:5009", "127.0.0.1:8080", "127.0.0.1:5020", "store", "payments-3"},
		{"test", "127.0.0.1:5300", "127.0.0.1:5109", "127.0.0.1:8180", "127.0.0.1:5120", "store_test", "payments-test-3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			instancePortsOnly(t)
			i, err := LookupInstance(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			store2, _ := i.ServiceAddr("store-manager", 2)
			payments1, _ := i.ServiceAddr("payments", 1)
			got := []string{store2, payments1, i.GatewayAddr(), i.SupervisorAddr(), i.Database("store"), i.Replica("payments", 3)}
			want := []string{tc.store2, tc.payments1, tc.gateway, tc.supervise, tc.database, tc.process}
			for j := range got {
				if got[j] != want[j] {
					t.Errorf("got %q, want %q", got[j], want[j])
				}
			}
		})
	}
}

// No two instances, nor two replicas, share a port.
func TestInstancesNeverShareAPort(t *testing.T) {
	instancePortsOnly(t)
	seen := map[string]string{}
	for name := range instances {
		i, _ := LookupInstance(name)
		addrs := map[string]string{"gateway": i.GatewayAddr(), "supervisor": i.SupervisorAddr()}
		for _, svc := range []string{"store-manager", "payments"} {
			for k := 1; k <= MaxReplicas; k++ {
				a, err := i.ServiceAddr(svc, k)
				if err != nil {
					t.Fatal(err)
				}
				addrs[i.Replica(svc, k)] = a
			}
		}
		for what, a := range addrs {
			if other, ok := seen[a]; ok {
				t.Errorf("%s of %q and %s both listen on %s", what, name, other, a)
			}
			seen[a] = what + " of " + name
		}
	}
}

func TestUnknownInstancesAndReplicasAreRefused(t *testing.T) {
	if _, err := LookupInstance("demo"); err == nil {
		t.Error("an unknown instance was accepted")
	}
	i, _ := LookupInstance("")
	for _, k := range []int{0, MaxReplicas + 1} {
		if _, err := i.ServiceAddr("store-manager", k); err == nil {
			t.Errorf("replica %d was given an address", k)
		}
	}
	if _, err := i.ServiceAddr("gateway", 1); err == nil {
		t.Error("the gateway was given a replica address")
	}
}
