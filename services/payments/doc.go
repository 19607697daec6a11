// Package payments is the payments service's business logic: creating,
// processing and reading payments, and its steps of the order saga.
package payments
