package storeapi

import (
	"github.com/store-manager/store-manager/api/httpkit"
)

// EmployeeKeyHeader carries the employees' API key.
const EmployeeKeyHeader = "X-Employee-Key"

// LocalEmployeeKey is the employee key when none is configured: a LOCAL
// DEVELOPMENT DEFAULT for a loopback-only stack, to be replaced by a secret
// anywhere else.
const LocalEmployeeKey = "local-employee-key"

// EmployeeKey is the employees' key.
func EmployeeKey(value string) httpkit.Key {
	return httpkit.Key{Header: EmployeeKeyHeader, Value: value, Holder: "employee"}
}

// Access says who may use store-manager's routes. Employees' routes (every
// write, and every read of personal data: users, orders, reports) need the
// employee key; product and stock reads, health and GraphQL (which has its
// own supplier rule) are public.
type Access struct {
	Employee httpkit.Key
	// Open lets employees' routes through without the key, for the
	// original's labs on a loopback-only stack (EMPLOYEE_AUTH=off; never the
	// default). PUT /orders, which changes payment state, keeps the key.
	Open bool
}

// employees guards an employees' route.
func (a Access) employees(h httpkit.Handler) httpkit.Handler {
	if a.Open {
		return h
	}
	return a.Employee.Guard(h)
}
