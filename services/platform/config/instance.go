package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Instance says where one copy of the system listens on the native stack:
// its infrastructure (MariaDB, Redis, Kafka, Kafka Connect, Prometheus and
// the exporters), its services (every replica), gateway and supervisor, its
// databases, its state folder and its names. Two copies can run side by side
// without touching each other: make run's (the unnamed instance) and make
// test's ("test"), each on infrastructure of its own. These rules are written
// here only: the services and storectl read them, and the stack script and
// the Makefile ask storectl ("storectl instance").
type Instance struct {
	Name   string // the namespace of its topics, groups, connectors and keys
	offset int    // every port of the instance is this far from the unnamed one's
}

// Instances are the known instances, by name, with how far their ports are
// from the unnamed one's. Replicas, Kafka nodes and Connect workers take the
// hundreds in between (ReplicaStep), so two instances never share a port.
// "cluster" is where the system tests run a replicated Kafka cluster of
// their own.
var instances = map[string]int{"": 0, "test": 100, "cluster": 2000}

// Replicas of a service: replica K listens ReplicaStep ports above replica
// K-1, and an instance runs at most MaxReplicas.
const (
	ReplicaStep = 200
	MaxReplicas = 5
)

// The unnamed instance's ports.
const (
	storePort      = 5000
	paymentsPort   = 5009
	gatewayPort    = 8080
	supervisorPort = 5020
)

// InfraPorts are the unnamed instance's infrastructure ports, by the
// variable the stack script reads; another instance's are as far from them
// as its services' ports are.
var InfraPorts = []struct {
	Var  string
	Port int
}{
	{"MARIADB_PORT", 3306},
	{"REDIS_PORT", 6379},
	{"KAFKA_PORT", 9092},
	{"KAFKA_CONTROLLER_PORT", 9093},
	{"CONNECT_PORT", 8083},
	{"KAFKA_METRICS_PORT", 9404},
	{"CONNECT_METRICS_PORT", 9405},
	{"MYSQLD_EXPORTER_PORT", 9104},
	{"REDIS_EXPORTER_PORT", 9121},
	{"PROMETHEUS_PORT", 9090},
	{"ZIPKIN_PORT", 9411},
}

// Cluster is how many Kafka nodes (each a KRaft broker and controller) and
// Kafka Connect workers an instance runs.
type Cluster struct {
	KafkaNodes, ConnectWorkers int
}

// The largest cluster an instance runs.
const (
	MaxKafkaNodes     = 5
	MaxConnectWorkers = 3
)

// Replication is the replication factor of every topic: three copies once
// there are three nodes, as many as there are nodes before that.
func (c Cluster) Replication() int { return min(c.KafkaNodes, 3) }

// MinInSync is how many copies a write must reach before it is
// acknowledged: two of three, so one node may die without losing an
// acknowledged event or stopping writes; one copy on a smaller cluster.
func (c Cluster) MinInSync() int { return max(c.Replication()-1, 1) }

// Cluster is the instance's cluster: KAFKA_NODES and CONNECT_WORKERS, else
// what the stack last started for it (run/cluster in its state folder),
// else one of each.
func (i Instance) Cluster() (Cluster, error) {
	c := Cluster{KafkaNodes: 1, ConnectWorkers: 1}
	if stack := stackDir(); stack != "" {
		if raw, err := os.ReadFile(filepath.Join(i.StateDir(stack), "run", "cluster")); err == nil {
			if _, err := fmt.Sscan(string(raw), &c.KafkaNodes, &c.ConnectWorkers); err != nil {
				return c, fmt.Errorf("the instance's run/cluster file: %w", err)
			}
		}
	}
	for _, v := range []struct {
		name string
		into *int
		most int
	}{{"KAFKA_NODES", &c.KafkaNodes, MaxKafkaNodes}, {"CONNECT_WORKERS", &c.ConnectWorkers, MaxConnectWorkers}} {
		if raw := os.Getenv(v.name); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				return c, fmt.Errorf("%s=%q: not a number", v.name, raw)
			}
			*v.into = n
		}
		if *v.into < 1 || *v.into > v.most {
			return c, fmt.Errorf("%s must be from 1 to %d, not %d", v.name, v.most, *v.into)
		}
	}
	if c.KafkaNodes%2 == 0 {
		return c, fmt.Errorf("KAFKA_NODES must be odd (1, 3 or 5): the KRaft controllers vote, and an even quorum survives no more failures than the odd one below it")
	}
	return c, nil
}

// NodePort is node (or worker) k's port of an infrastructure component, by
// its variable: the first node's is Port's, the others' ReplicaStep apart.
func (i Instance) NodePort(v string, k int) int { return i.Port(v) + ReplicaStep*(k-1) }

// clusterEnv is what the stack needs to start the instance's cluster: the
// node ids and ports, the KRaft voters, each topic's copies and the Connect
// workers' ports, as space-separated lists in node order.
func (i Instance) clusterEnv(c Cluster) [][2]string {
	var voters []string
	lists := map[string][]string{}
	for k := 1; k <= c.KafkaNodes; k++ {
		voters = append(voters, fmt.Sprintf("%d@%s", k, loopback(i.NodePort("KAFKA_CONTROLLER_PORT", k))))
		for _, v := range []string{"KAFKA_PORT", "KAFKA_CONTROLLER_PORT", "KAFKA_METRICS_PORT"} {
			lists[v] = append(lists[v], strconv.Itoa(i.NodePort(v, k)))
		}
	}
	for k := 1; k <= c.ConnectWorkers; k++ {
		for _, v := range []string{"CONNECT_PORT", "CONNECT_METRICS_PORT"} {
			lists[v] = append(lists[v], strconv.Itoa(i.NodePort(v, k)))
		}
	}
	join := func(v string) string { return strings.Join(lists[v], " ") }
	return [][2]string{
		{"KAFKA_NODES", strconv.Itoa(c.KafkaNodes)},
		{"CONNECT_WORKERS", strconv.Itoa(c.ConnectWorkers)},
		{"KAFKA_VOTERS", strings.Join(voters, ",")},
		{"KAFKA_REPLICATION", strconv.Itoa(c.Replication())},
		{"KAFKA_MIN_INSYNC", strconv.Itoa(c.MinInSync())},
		{"KAFKA_NODE_PORTS", join("KAFKA_PORT")},
		{"KAFKA_CONTROLLER_PORTS", join("KAFKA_CONTROLLER_PORT")},
		{"KAFKA_METRICS_PORTS", join("KAFKA_METRICS_PORT")},
		{"CONNECT_PORTS", join("CONNECT_PORT")},
		{"CONNECT_METRICS_PORTS", join("CONNECT_METRICS_PORT")},
	}
}

// Port is the instance's port of an infrastructure component, by its variable (MARIADB_PORT, ...).
func (i Instance) Port(v string) int {
	for _, p := range InfraPorts {
		if p.Var == v {
			return p.Port + i.offset
		}
	}
	panic("config: no infrastructure port is called " + v)
}

// StateDir is the instance's state folder (data, logs, pid files) under the
// stack's: the unnamed instance's is the stack's own, another's is named after it.
func (i Instance) StateDir(stack string) string {
	if i.Name == "" {
		return stack
	}
	return filepath.Join(stack, i.Name)
}

// Components whose processes carry their instance's name (the infrastructure's
// do not: each instance's state folder keeps them apart).
var instanceComponents = []string{"store-manager", "payments", "gateway", "supervisor"}

// LookupInstance returns the instance called name.
func LookupInstance(name string) (Instance, error) {
	off, ok := instances[name]
	if !ok {
		return Instance{}, fmt.Errorf("no instance is called %q: the stack runs the unnamed one and \"test\"", name)
	}
	return Instance{Name: name, offset: off}, nil
}

// NamedInstances lists the instances that run beside the unnamed one.
func NamedInstances() []string {
	var names []string
	for name := range instances {
		if name != "" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// CurrentInstance is the instance STACK_NAMESPACE names.
func CurrentInstance() (Instance, error) { return LookupInstance(Env("STACK_NAMESPACE", "")) }

// Instance returns the instance STACK_NAMESPACE names, recording an unknown name.
func (r *Reader) Instance() Instance {
	i, err := CurrentInstance()
	r.Check("STACK_NAMESPACE", err)
	return i
}

// stackDir is the stack's folder: STATE, else the one a program built into
// its bin/ folder runs from (storectl run by hand), else "".
func stackDir() string {
	if dir := os.Getenv("STATE"); dir != "" {
		return dir
	}
	exe, err := os.Executable()
	if err != nil || filepath.Base(filepath.Dir(exe)) != "bin" {
		return ""
	}
	return filepath.Dir(filepath.Dir(exe))
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// ReplicaAddr is where replica k (from 1) listens when the first listens on first.
func ReplicaAddr(first string, k int) (string, error) {
	host, port, err := net.SplitHostPort(first)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", first, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || k < 1 || k > MaxReplicas {
		return "", fmt.Errorf("replica %d of %q: the port must be a number and the replica from 1 to %d", k, first, MaxReplicas)
	}
	return net.JoinHostPort(host, strconv.Itoa(p+ReplicaStep*(k-1))), nil
}

// StoreAddr is where store-manager's first replica listens: STORE_HTTP_ADDR, or the instance's port.
func (i Instance) StoreAddr() string { return Env("STORE_HTTP_ADDR", loopback(storePort+i.offset)) }

// PaymentsAddr is where payments' first replica listens: PAYMENTS_HTTP_ADDR, or the instance's port.
func (i Instance) PaymentsAddr() string {
	return Env("PAYMENTS_HTTP_ADDR", loopback(paymentsPort+i.offset))
}

// GatewayAddr is where the instance's gateway listens: GATEWAY_ADDR, or the instance's port.
func (i Instance) GatewayAddr() string { return Env("GATEWAY_ADDR", loopback(gatewayPort+i.offset)) }

// SupervisorAddr is where the instance's connector supervisor serves its metrics.
func (i Instance) SupervisorAddr() string {
	return Env("SUPERVISOR_METRICS_ADDR", loopback(supervisorPort+i.offset))
}

// ServiceAddr is where replica k of service (store-manager or payments) listens.
func (i Instance) ServiceAddr(service string, k int) (string, error) {
	switch service {
	case "store-manager":
		return ReplicaAddr(i.StoreAddr(), k)
	case "payments":
		return ReplicaAddr(i.PaymentsAddr(), k)
	}
	return "", fmt.Errorf("no service is called %q", service)
}

// StoreURL, PaymentsURL and GatewayURL are where a client reaches the
// instance: STORE_URL, PAYMENTS_URL and GATEWAY_URL, or its first replicas and gateway.
func (i Instance) StoreURL() string    { return Env("STORE_URL", "http://"+i.StoreAddr()) }
func (i Instance) PaymentsURL() string { return Env("PAYMENTS_URL", "http://"+i.PaymentsAddr()) }
func (i Instance) GatewayURL() string  { return Env("GATEWAY_URL", "http://"+i.GatewayAddr()) }

// ConnectMetricsURL is the Connect workers' metrics pages (Debezium's
// lag), comma-separated: CONNECT_METRICS_URL, or the instance's.
func (i Instance) ConnectMetricsURL() string {
	return Env("CONNECT_METRICS_URL", strings.Join(metricsPages(i.nodeAddrs("CONNECT_METRICS_PORT", i.cluster().ConnectWorkers)), ","))
}

// KafkaMetricsURL is the Kafka nodes' metrics pages, comma-separated:
// KAFKA_METRICS_URL, or the instance's.
func (i Instance) KafkaMetricsURL() string {
	_, pages := i.KafkaNodes()
	return Env("KAFKA_METRICS_URL", strings.Join(pages, ","))
}

// KafkaNodes names each of the instance's Kafka nodes (kafka, kafka-2, ...)
// and its metrics page.
func (i Instance) KafkaNodes() (names, metrics []string) {
	n := i.cluster().KafkaNodes
	for k := 1; k <= n; k++ {
		names = append(names, i.Replica("kafka", k))
	}
	return names, metricsPages(i.nodeAddrs("KAFKA_METRICS_PORT", n))
}

// ConnectWorker names the instance's Connect worker whose REST address is
// workerID (host:port, as Kafka Connect reports it), if one is.
func (i Instance) ConnectWorker(workerID string) (string, bool) {
	for k, addr := range i.nodeAddrs("CONNECT_PORT", i.cluster().ConnectWorkers) {
		if _, port, _ := net.SplitHostPort(addr); strings.HasSuffix(workerID, ":"+port) {
			return i.Replica("connect", k+1), true
		}
	}
	return "", false
}

// cluster is the instance's cluster, or one node and one worker when its
// settings are wrong (storectl instance env reports them).
func (i Instance) cluster() Cluster {
	c, err := i.Cluster()
	if err != nil {
		return Cluster{KafkaNodes: 1, ConnectWorkers: 1}
	}
	return c
}

// nodeAddrs is where each of the first n nodes listens on the port called v.
func (i Instance) nodeAddrs(v string, n int) []string {
	out := make([]string, n)
	for k := range out {
		out[k] = loopback(i.NodePort(v, k+1))
	}
	return out
}

// metricsPages is the /metrics page at each address.
func metricsPages(addrs []string) []string {
	out := make([]string, len(addrs))
	for k, a := range addrs {
		out[k] = "http://" + a + "/metrics"
	}
	return out
}

// PrometheusURL is the instance's Prometheus: PROMETHEUS_URL, or the instance's port.
func (i Instance) PrometheusURL() string {
	return Env("PROMETHEUS_URL", "http://"+loopback(i.Port("PROMETHEUS_PORT")))
}

// ZipkinURL is the instance's trace backend, Zipkin: ZIPKIN_URL, or the
// instance's port.
func (i Instance) ZipkinURL() string {
	return Env("ZIPKIN_URL", "http://"+loopback(i.Port("ZIPKIN_PORT")))
}

// ZipkinSpansURL is where the instance's services send their spans.
func (i Instance) ZipkinSpansURL() string { return i.ZipkinURL() + "/api/v2/spans" }

// Database is the instance's database of service (store or payments): the
// unnamed instance's is named after the service, another's ends in its name.
func (i Instance) Database(service string) string {
	if i.Name == "" {
		return service
	}
	return service + "_" + i.Name
}

// Process is the name of a component's pid and log files: the instance's
// services, gateway and supervisor carry its name, the infrastructure does not.
func (i Instance) Process(component string) string {
	for _, c := range instanceComponents {
		if c == component && i.Name != "" {
			return component + "-" + i.Name
		}
	}
	return component
}

// Replica is the pid and log name of replica k of a service, or of Kafka
// node or Connect worker k ("kafka", "connect"): the first has no number.
func (i Instance) Replica(service string, k int) string {
	if k == 1 {
		return i.Process(service)
	}
	return i.Process(service) + "-" + strconv.Itoa(k)
}

// Env is the environment that points every program at the instance, in
// the order a shell should set it.
func (i Instance) Env() [][2]string {
	st := i.Stack()
	env := [][2]string{
		{"STACK_NAMESPACE", i.Name},
		{"STORE_DB_DSN", st.StoreDSN},
		{"PAYMENTS_DB_DSN", st.PaymentsDSN},
		{"ADMIN_DB_DSN", st.AdminDSN},
		{"REDIS_ADDR", st.RedisAddr},
		{"KAFKA_BROKERS", st.KafkaBrokers},
		{"KAFKA_CONNECT_URL", st.ConnectURL},
		{"CONNECT_METRICS_URL", i.ConnectMetricsURL()},
		{"KAFKA_METRICS_URL", i.KafkaMetricsURL()},
		{"PROMETHEUS_URL", i.PrometheusURL()},
		{"ZIPKIN_URL", i.ZipkinURL()},
		{"STORE_HTTP_ADDR", i.StoreAddr()},
		{"PAYMENTS_HTTP_ADDR", i.PaymentsAddr()},
		{"GATEWAY_ADDR", i.GatewayAddr()},
		{"SUPERVISOR_METRICS_ADDR", i.SupervisorAddr()},
		{"PAYMENT_LINK_BASE", Env("PAYMENT_LINK_BASE", i.GatewayURL())},
		{"STORE_URL", i.StoreURL()},
		{"PAYMENTS_URL", i.PaymentsURL()},
		{"GATEWAY_URL", i.GatewayURL()},
	}
	for _, p := range InfraPorts {
		env = append(env, [2]string{p.Var, strconv.Itoa(i.Port(p.Var))})
	}
	env = append(env, i.clusterEnv(i.cluster())...)
	if stack := os.Getenv("STATE"); stack != "" {
		env = append(env, [2]string{"INSTANCE_STATE", i.StateDir(stack)})
	}
	return env
}

// Stack is where the instance's infrastructure is, each setting's variable
// (STORE_DB_DSN, REDIS_ADDR, ...) first, and its namespace.
func (i Instance) Stack() Stack {
	c := i.cluster()
	connect := i.nodeAddrs("CONNECT_PORT", c.ConnectWorkers)
	for k, a := range connect {
		connect[k] = "http://" + a
	}
	return Stack{
		StoreDSN:      Env("STORE_DB_DSN", i.localDSN("store", i.Database("store"))),
		PaymentsDSN:   Env("PAYMENTS_DB_DSN", i.localDSN("payments", i.Database("payments"))),
		AdminDSN:      Env("ADMIN_DB_DSN", i.localDSN("admin", "")),
		RedisAddr:     Env("REDIS_ADDR", loopback(i.Port("REDIS_PORT"))),
		RedisPassword: os.Getenv("REDIS_PASSWORD"),
		KafkaBrokers:  Env("KAFKA_BROKERS", strings.Join(i.nodeAddrs("KAFKA_PORT", c.KafkaNodes), ",")),
		ConnectURL:    Env("KAFKA_CONNECT_URL", strings.Join(connect, ",")),
		Namespace:     i.Name,
	}
}

// localDSN is the DSN of database on the instance's MariaDB for its account
// user, whose password is its name (a local development default).
func (i Instance) localDSN(user, database string) string {
	return user + ":" + user + "@tcp(" + loopback(i.Port("MARIADB_PORT")) + ")/" + database + "?parseTime=true"
}

// orUnnamed is the instance called name, or the unnamed one's addresses
// under that name when none is (the namespaces of package tests).
func orUnnamed(name string) Instance {
	if i, err := LookupInstance(name); err == nil {
		return i
	}
	return Instance{Name: name}
}
