package config

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

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

// No two instances, nor two replicas, Kafka nodes or Connect workers, share a port.
func TestInstancesNeverShareAPort(t *testing.T) {
	instancePortsOnly(t)
	seen := map[string]string{}
	for name := range instances {
		i, _ := LookupInstance(name)
		addrs := map[string]string{"gateway": i.GatewayAddr(), "supervisor": i.SupervisorAddr()}
		for _, p := range InfraPorts {
			most := 1
			switch p.Var {
			case "KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "KAFKA_METRICS_PORT":
				most = MaxKafkaNodes
			case "CONNECT_PORT", "CONNECT_METRICS_PORT":
				most = MaxConnectWorkers
			}
			for k := 1; k <= most; k++ {
				addrs[p.Var+" of node "+strconv.Itoa(k)] = loopback(i.NodePort(p.Var, k))
			}
		}
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

// An instance's cluster comes from KAFKA_NODES and CONNECT_WORKERS, else from
// what the stack last started, else one of each; its brokers and workers are
// every node's, and a topic's copies follow the nodes.
func TestCluster(t *testing.T) {
	state := t.TempDir()
	t.Setenv("STATE", state)
	for _, v := range []string{"KAFKA_BROKERS", "KAFKA_CONNECT_URL", "KAFKA_NODES", "CONNECT_WORKERS"} {
		t.Setenv(v, "")
	}
	i, _ := LookupInstance("cluster")
	cases := []struct {
		name, file, nodes, workers string
		want                       Cluster
		brokers                    string
		bad                        bool
	}{
		{name: "nothing said", want: Cluster{1, 1}, brokers: "127.0.0.1:11092"},
		{name: "remembered", file: "3 2", want: Cluster{3, 2}, brokers: "127.0.0.1:11092,127.0.0.1:11292,127.0.0.1:11492"},
		{name: "asked", file: "3 2", nodes: "1", workers: "1", want: Cluster{1, 1}, brokers: "127.0.0.1:11092"},
		{name: "an even quorum", nodes: "2", bad: true},
		{name: "too many workers", workers: "4", bad: true},
		{name: "not a number", nodes: "three", bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := filepath.Join(state, "cluster", "run")
			os.RemoveAll(run)
			if tc.file != "" {
				os.MkdirAll(run, 0o755)
				os.WriteFile(filepath.Join(run, "cluster"), []byte(tc.file+"\n"), 0o644)
			}
			t.Setenv("KAFKA_NODES", tc.nodes)
			t.Setenv("CONNECT_WORKERS", tc.workers)
			got, err := i.Cluster()
			if tc.bad {
				if err == nil {
					t.Fatalf("cluster %+v accepted", got)
				}
				return
			}
			if err != nil || got != tc.want || i.Stack().KafkaBrokers != tc.brokers {
				t.Fatalf("cluster %+v %v, brokers %s; want %+v, %s", got, err, i.Stack().KafkaBrokers, tc.want, tc.brokers)
			}
			if workers := strings.Count(i.Stack().ConnectURL, "http://"); workers != tc.want.ConnectWorkers {
				t.Fatalf("connect URL %s: %d workers", i.Stack().ConnectURL, workers)
			}
		})
	}
	for _, c := range []struct {
		c              Cluster
		copies, inSync int
	}{{Cluster{1, 1}, 1, 1}, {Cluster{3, 2}, 3, 2}, {Cluster{5, 3}, 3, 2}} {
		if c.c.Replication() != c.copies || c.c.MinInSync() != c.inSync {
			t.Errorf("%+v: %d copies, %d in sync; want %d, %d", c.c, c.c.Replication(), c.c.MinInSync(), c.copies, c.inSync)
		}
	}
}
