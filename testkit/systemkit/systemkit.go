// Package systemkit drives the running system for the end-to-end and
// system tests: clients of the gateway with the employees' key, the data an
// order needs, waiting for sagas to end, the stack script, and the
// processes' pids, memory and CPU from /proc. Only tests import it.
package systemkit

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/store-manager/store-manager/api/graphql"
	"github.com/store-manager/store-manager/api/storeapi"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

// under is the instance of the system under test: STACK_NAMESPACE's.
var under config.Instance

// Main runs a test package's tests against the instance STACK_NAMESPACE
// names, and refuses to run them against an unknown one.
func Main(m *testing.M) {
	i, err := config.CurrentInstance()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	under = i
	os.Exit(m.Run())
}

// Instance is the instance of the system under test.
func Instance() config.Instance { return under }

// Root is the repository's root folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// StackDir is the stack's state folder: the binaries, the jars, and the
// state folders of the instances.
func StackDir() string { return config.Env("STATE", filepath.Join(Root(), ".state")) }

// StateDir is the state folder of the instance under test: its data, logs and pid files.
func StateDir() string { return under.StateDir(StackDir()) }

// Bin is the path of one of the project's binaries, as make build leaves them.
func Bin(name string) string { return filepath.Join(StackDir(), "bin", name) }

// GatewayURL is where every client reaches the system.
func GatewayURL() string { return under.GatewayURL() }

// Terminal saga states.
var Terminal = map[string]bool{"Completed": true, "Cancelled": true, "NeedsAttention": true}

// System reaches both services through the gateway, as an employee.
type System struct {
	Store, Payments *stacktest.Client
}

// New reaches the system under test, skipping the test under -short.
func New(t testing.TB) System {
	t.Helper()
	stacktest.Stack(t)
	gateway := Employee() // the employees' routes need their key
	return System{Store: gateway, Payments: gateway}
}

// Stack runs the project's stack script, for tests that stop and start components.
func Stack(t *testing.T, args ...string) { StackWith(t, nil, args...) }

// StackWith runs the stack script with env (NAME=value) added to the test's environment.
func StackWith(t *testing.T, env []string, args ...string) {
	t.Helper()
	script := filepath.Join(Root(), "stack", "stack.sh")
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stack.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if args[0] == "app" || args[0] == "start" || args[0] == "gateway" {
		WaitGateway(t)
	}
}

// WaitGateway waits until the gateway reaches both services again: after a
// service was down, its circuit breaker keeps it out for a while.
func WaitGateway(t testing.TB) {
	t.Helper()
	c := stacktest.NewClient(GatewayURL())
	stacktest.Eventually(t, 60*time.Second, "the gateway reaches the services", func() bool {
		for _, path := range []string{"/health-check", "/payments/status"} {
			if r, err := c.Try("GET", path, nil); err != nil || r.Status != 200 {
				return false
			}
		}
		return true
	})
}

// Product creates a product with quantity units in stock.
func (s System) Product(t testing.TB, price string, quantity int) int64 {
	t.Helper()
	r := s.Store.Do(t, "POST", "/products", map[string]any{"name": "E2E item", "sku": "E-" + stacktest.Suffix(), "price": json.Number(price)})
	if r.Status != 201 {
		t.Fatalf("create product: %d %s", r.Status, r.Raw)
	}
	id := r.Int("product_id")
	if r = s.Store.Do(t, "POST", "/stocks", map[string]any{"product_id": id, "quantity": quantity}); r.Status != 200 {
		t.Fatalf("set stock: %d %s", r.Status, r.Raw)
	}
	return id
}

// Products creates n products with quantity in stock each: their initial
// stock by id, and their ids in order.
func (s System) Products(t testing.TB, n, quantity int) (map[int64]int64, []int64) {
	t.Helper()
	initial := map[int64]int64{}
	var ids []int64
	for range n {
		id := s.Product(t, "1.00", quantity)
		initial[id], ids = int64(quantity), append(ids, id)
	}
	return initial, ids
}

// User creates a user.
func (s System) User(t testing.TB) int64 {
	t.Helper()
	r := s.Store.Do(t, "POST", "/users", map[string]any{"name": "E2E buyer", "email": "e2e-" + stacktest.Suffix() + "@example.com"})
	if r.Status != 201 {
		t.Fatalf("create user: %d %s", r.Status, r.Raw)
	}
	return r.Int("user_id")
}

// Order places an order; it returns 0 when the request did not create one.
func (s System) Order(t *testing.T, user, product int64, qty int) int64 {
	t.Helper()
	r := s.Store.Do(t, "POST", "/orders", map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": product, "quantity": qty}}})
	if r.Status != 201 {
		return 0
	}
	return r.Int("order_id")
}

// TracedOrder is Order sent with a sampled traceparent, as a client that
// traces its own requests sends it: the order is traced whatever the
// services' sampler would have decided, and its trace id is returned.
func (s System) TracedOrder(t *testing.T, user, product int64, qty int) (id int64, traceID string) {
	t.Helper()
	ids := make([]byte, 24)
	if _, err := rand.Read(ids); err != nil {
		t.Fatal(err)
	}
	traceID = hex.EncodeToString(ids[:16])
	c := *s.Store
	c.Header = c.Header.Clone()
	if c.Header == nil {
		c.Header = http.Header{}
	}
	c.Header.Set("traceparent", "00-"+traceID+"-"+hex.EncodeToString(ids[16:])+"-01")
	r := c.Do(t, "POST", "/orders", map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": product, "quantity": qty}}})
	if r.Status != 201 {
		t.Fatalf("POST /orders: %d %s", r.Status, r.Raw)
	}
	return r.Int("order_id"), traceID
}

// Order is an order as the API shows it, with its steps' events.
type Order struct {
	Status        string
	IsPaid        bool
	PaymentID     int64
	PaymentLink   string
	FailureReason string
	TotalAmount   float64
	UserID        int64
	Items         int
	Steps         []string
}

// GetOrder reads an order, with the status of the response.
func (s System) GetOrder(t *testing.T, id int64) (Order, int) {
	t.Helper()
	r := s.Store.Do(t, "GET", fmt.Sprintf("/orders/%d", id), nil)
	if r.Status != 200 {
		return Order{}, r.Status
	}
	o := Order{Status: fmt.Sprint(r.Field("status")), UserID: r.Int("user_id"), PaymentID: r.Int("payment_id")}
	o.IsPaid, _ = r.Field("is_paid").(bool)
	o.PaymentLink, _ = r.Field("payment_link").(string)
	o.FailureReason, _ = r.Field("failure_reason").(string)
	o.TotalAmount, _ = r.Field("total_amount").(float64)
	items, _ := r.Field("items").([]any)
	o.Items = len(items)
	steps, _ := r.Field("steps").([]any)
	for _, st := range steps {
		o.Steps = append(o.Steps, fmt.Sprint(st.(map[string]any)["event"]))
	}
	return o, 200
}

// Settle waits until every order reaches a terminal state and returns them.
func (s System) Settle(t *testing.T, timeout time.Duration, ids ...int64) map[int64]Order {
	t.Helper()
	out := map[int64]Order{}
	stacktest.Eventually(t, timeout, fmt.Sprintf("%d orders terminal", len(ids)), func() bool {
		for _, id := range ids {
			if Terminal[out[id].Status] {
				continue
			}
			o, status := s.GetOrder(t, id)
			if status != 200 || !Terminal[o.Status] {
				return false
			}
			out[id] = o
		}
		return true
	})
	return out
}

// Stock reads a product's stock from the read model.
func (s System) Stock(t testing.TB, product int64) int64 {
	t.Helper()
	r := s.Store.Do(t, "GET", fmt.Sprintf("/stocks/%d", product), nil)
	if r.Status != 200 {
		t.Fatalf("get stock: %d %s", r.Status, r.Raw)
	}
	return r.Int("quantity")
}

// StockSettles waits until the read model shows want units.
func (s System) StockSettles(t testing.TB, product, want int64) {
	t.Helper()
	stacktest.Eventually(t, 15*time.Second, fmt.Sprintf("stock of %d at %d", product, want), func() bool {
		return s.Stock(t, product) == want
	})
}

// Ctx is a context that ends with the test, or after two minutes.
func Ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// WithKey is a gateway client that sends one API key.
func WithKey(header, value string) *stacktest.Client {
	c := stacktest.NewClient(GatewayURL())
	c.Header = http.Header{header: {value}}
	return c
}

// Employee is a gateway client with the employee key.
func Employee() *stacktest.Client { return WithKey(storeapi.EmployeeKeyHeader, EmployeeKey()) }

// EmployeeKey is the key the stack's employees use.
func EmployeeKey() string { return config.Env("EMPLOYEE_API_KEY", storeapi.LocalEmployeeKey) }

// Supplier reaches the gateway as the supplier whose key the system runs with.
func Supplier() *stacktest.Client { return WithKey(graphql.SupplierKeyHeader, SupplierKey()) }

// SupplierKey is the supplier key of the system under test.
func SupplierKey() string { return config.Env("SUPPLIER_API_KEY", graphql.LocalSupplierKey) }

// PidOf is the pid of a component of the instance under test.
func PidOf(t *testing.T, name string) int {
	return PidOfProcess(t, under.Process(name))
}

// PidOfProcess is the pid of a component by its pid file's name.
func PidOfProcess(t *testing.T, name string) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(StateDir(), "run", name+".pid"))
	if err != nil {
		t.Fatalf("%s is not running: %v", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// ScrapeAll reads a Prometheus text page's unlabelled and first-labelled
// values by metric name.
func ScrapeAll(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name, rest, ok = line[:i], line[strings.LastIndexByte(line, '}')+2:], true
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); ok && err == nil {
			if _, seen := out[name]; !seen {
				out[name] = v
			}
		}
	}
	return out
}

// RSSMB is a process's resident memory, from /proc.
func RSSMB(t *testing.T, pid int) float64 {
	t.Helper()
	mb, err := RSSOf(pid)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// RSSOf is a process's resident memory in MB, from /proc.
func RSSOf(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// FDCount is how many file descriptors a process holds open.
func FDCount(t *testing.T, pid int) float64 {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return float64(len(entries))
}

// Use is what a process has used so far: CPU seconds in user space and in
// the kernel (its system calls), and context switches (wake-ups and
// preemptions) of all its threads.
type Use struct{ User, Sys, Switches float64 }

// CPU is the CPU seconds, user and kernel.
func (u Use) CPU() float64 { return u.User + u.Sys }

// Add is u and v together.
func (u Use) Add(v Use) Use { return Use{u.User + v.User, u.Sys + v.Sys, u.Switches + v.Switches} }

// Sub is what was used from v to u.
func (u Use) Sub(v Use) Use { return Use{u.User - v.User, u.Sys - v.Sys, u.Switches - v.Switches} }

// UseOf reads a process's use from /proc: its CPU from /proc/PID/stat, its
// context switches summed over its threads (/proc/PID/task/*/status).
func UseOf(pid int) (Use, error) {
	const hz = 100 // USER_HZ on Linux
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Use{}, err
	}
	// The command may hold spaces: the fields after it start past the last ')'.
	f := strings.Fields(string(raw)[strings.LastIndexByte(string(raw), ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	u := Use{User: utime / hz, Sys: stime / hz}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, task := range tasks {
		status, err := os.ReadFile(task)
		if err != nil {
			continue // the thread ended
		}
		for _, line := range strings.Split(string(status), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				u.Switches += n
			}
		}
	}
	return u, nil
}

// CPUSeconds is the CPU time (user and system) a process has used so far, from /proc.
func CPUSeconds(pid int) (float64, error) {
	u, err := UseOf(pid)
	return u.CPU(), err
}

// Beside is another instance of the system than the one under test, as a
// program started for it sees it: its environment and its settings.
type Beside struct {
	Env  []string          // this process's environment without the instance under test's settings
	Vars map[string]string // the instance's settings (storectl instance env)
}

// InstanceBeside returns the instance called name as a program started
// with its Env would see it.
func InstanceBeside(t *testing.T, name string) Beside {
	t.Helper()
	own := map[string]bool{"STACK_NAMESPACE": true, "INSTANCE_STATE": true}
	for _, kv := range under.Env() {
		own[kv[0]] = true
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !own[k] {
			env = append(env, kv)
		}
	}
	env = append(env, "STACK_NAMESPACE="+name)
	cmd := exec.Command(Bin("storectl"), "instance", "env")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("storectl instance env for %q: %v", name, err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		vars[k] = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'"), `'\''`, "'")
	}
	return Beside{Env: env, Vars: vars}
}

// Run runs a command in the repository's root with the instance's environment, and returns its output.
func (b Beside) Run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = Root()
	cmd.Env = b.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Client is a client of the instance's gateway with the employee key.
func (b Beside) Client() *stacktest.Client {
	c := stacktest.NewClient(b.Vars["GATEWAY_URL"])
	c.Header = http.Header{storeapi.EmployeeKeyHeader: {EmployeeKey()}}
	return c
}
