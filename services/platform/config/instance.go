package config

import (
	"fmt"
	"net"
	"strconv"
)

// Instance says where one copy of the system listens on the native stack:
// its services (every replica), gateway and supervisor, its databases and
// its names. Two copies share a machine's infrastructure: make run's (the
// unnamed instance) and make test's ("test"). These rules are written here
// only: the services and storectl read them, and the stack script and the
// Makefile ask storectl ("storectl instance").
type Instance struct {
	Name   string // the namespace of its topics, groups, connectors and keys
	offset int    // every port of the instance is this far from the unnamed one's
}

// Instances are the known instances, by name, with how far their ports are
// from the unnamed one's. Replicas take the hundreds in between (ReplicaStep),
// so two instances never share a port.
var instances = map[string]int{"": 0, "test": 100}

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

// Components whose processes carry their instance's name (the infrastructure is shared).
var instanceComponents = []string{"store-manager", "payments", "gateway", "supervisor"}

// LookupInstance returns the instance called name.
func LookupInstance(name string) (Instance, error) {
	off, ok := instances[name]
	if !ok {
		return Instance{}, fmt.Errorf("no instance is called %q: the stack runs the unnamed one and \"test\"", name)
	}
	return Instance{Name: name, offset: off}, nil
}

// CurrentInstance is the instance STACK_NAMESPACE names.
func CurrentInstance() (Instance, error) { return LookupInstance(Env("STACK_NAMESPACE", "")) }

// Instance returns the instance STACK_NAMESPACE names, recording an unknown name.
func (r *Reader) Instance() Instance {
	i, err := CurrentInstance()
	r.Check("STACK_NAMESPACE", err)
	return i
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

// Replica is the pid and log name of replica k of a service: the first has no number.
func (i Instance) Replica(service string, k int) string {
	if k == 1 {
		return i.Process(service)
	}
	return i.Process(service) + "-" + strconv.Itoa(k)
}

// Env is the environment that points every program at the instance, in
// the order a shell should set it.
func (i Instance) Env() [][2]string {
	return [][2]string{
		{"STACK_NAMESPACE", i.Name},
		{"STORE_DB_DSN", Env("STORE_DB_DSN", localDSN("store", i.Database("store")))},
		{"PAYMENTS_DB_DSN", Env("PAYMENTS_DB_DSN", localDSN("payments", i.Database("payments")))},
		{"STORE_HTTP_ADDR", i.StoreAddr()},
		{"PAYMENTS_HTTP_ADDR", i.PaymentsAddr()},
		{"GATEWAY_ADDR", i.GatewayAddr()},
		{"SUPERVISOR_METRICS_ADDR", i.SupervisorAddr()},
		{"PAYMENT_LINK_BASE", Env("PAYMENT_LINK_BASE", i.GatewayURL())},
		{"STORE_URL", i.StoreURL()},
		{"PAYMENTS_URL", i.PaymentsURL()},
		{"GATEWAY_URL", i.GatewayURL()},
	}
}
