// Package connectors registers the Debezium outbox connectors with Kafka
// Connect through its REST API and reports their state.
package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/store-manager/store-manager/debezium"
	"github.com/store-manager/store-manager/services/platform/config"
)

// Connector is one connector definition as the REST API takes it.
type Connector struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Base   string            `json:"-"` // its name in debezium/, whatever its namespace: StoreOutbox or PaymentsOutbox
}

// The project's connectors, by their names in debezium/ (an instance's
// namespace prefixes them on the worker: see config.Stack.Connector).
const (
	StoreOutbox    = "store-outbox"
	PaymentsOutbox = "payments-outbox"
)

// Load reads every *.json connector definition in dir.
func Load(dir fs.FS) ([]Connector, error) {
	names, err := fs.Glob(dir, "*.json")
	if err != nil {
		return nil, fmt.Errorf("list connector configs: %w", err)
	}
	sort.Strings(names)
	out := make([]Connector, 0, len(names))
	for _, n := range names {
		raw, err := fs.ReadFile(dir, n)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", n, err)
		}
		var c Connector
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		if c.Name == "" || len(c.Config) == 0 {
			return nil, fmt.Errorf("%s: name and config are required", n)
		}
		c.Base = c.Name
		out = append(out, c)
	}
	return out, nil
}

// Overrides replaces the addresses a connector config names, for a deployment
// where the database or Kafka live elsewhere than on loopback. Empty fields
// keep the file's value.
type Overrides struct {
	ConnectorClass string            // connector.class: MySqlConnector for a MySQL server
	DatabaseHost   string            // database.hostname
	DatabasePort   string            // database.port
	KafkaBrokers   string            // schema.history.internal.kafka.bootstrap.servers
	Set            map[string]string // any other key, such as a driver option
}

// Apply returns a copy of c with the overrides set.
func (o Overrides) Apply(c Connector) Connector {
	cfg := make(map[string]string, len(c.Config))
	for k, v := range c.Config {
		cfg[k] = v
	}
	set := func(key, v string) {
		if v != "" {
			cfg[key] = v
		}
	}
	set("connector.class", o.ConnectorClass)
	set("database.hostname", o.DatabaseHost)
	set("database.port", o.DatabasePort)
	set("schema.history.internal.kafka.bootstrap.servers", o.KafkaBrokers)
	for k, v := range o.Set {
		set(k, v)
	}
	return Connector{Name: c.Name, Config: cfg, Base: c.Base}
}

// Client talks to a Kafka Connect cluster's REST API: any worker answers
// for the whole cluster, so a request goes to the first worker that can be
// reached.
type Client struct {
	BaseURLs []string
	HTTP     *http.Client
}

// NewClient returns a client for the workers at baseURLs, comma-separated.
func NewClient(baseURLs string) *Client {
	c := &Client{HTTP: &http.Client{Timeout: 30 * time.Second}}
	for _, u := range strings.Split(baseURLs, ",") {
		c.BaseURLs = append(c.BaseURLs, strings.TrimRight(strings.TrimSpace(u), "/"))
	}
	return c
}

// Register creates the connector, or updates its config if it exists: PUT on
// /connectors/{name}/config is idempotent, so registering twice never
// duplicates a connector.
func (c *Client) Register(ctx context.Context, conn Connector) error {
	body, err := json.Marshal(conn.Config)
	if err != nil {
		return fmt.Errorf("marshal %s config: %w", conn.Name, err)
	}
	return c.do(ctx, http.MethodPut, path.Join("/connectors", url.PathEscape(conn.Name), "config"), body, nil)
}

// Delete removes a connector; its offsets stay with the worker.
func (c *Client) Delete(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, path.Join("/connectors", url.PathEscape(name)), nil, nil)
}

// List names every connector the worker's cluster runs, whoever registered it.
func (c *Client) List(ctx context.Context) ([]string, error) {
	var names []string
	err := c.do(ctx, http.MethodGet, "/connectors", nil, &names)
	return names, err
}

// Position is where a Debezium connector has read its server's binlog to, as
// the worker keeps it (GET /connectors/{name}/offsets); Snapshot is set while
// a snapshot of its tables is not finished.
type Position struct {
	File     string `json:"file"`
	Pos      int64  `json:"pos"`
	Snapshot any    `json:"snapshot,omitempty"`
}

// Before reports whether p is at or before q in the binlog.
func (p Position) Before(q Position) bool {
	return p.File < q.File || p.File == q.File && p.Pos <= q.Pos
}

// Positions returns the binlog positions the worker holds for a connector (none before its first commit).
func (c *Client) Positions(ctx context.Context, name string) ([]Position, error) {
	var out struct {
		Offsets []struct {
			Offset Position `json:"offset"`
		} `json:"offsets"`
	}
	if err := c.do(ctx, http.MethodGet, path.Join("/connectors", url.PathEscape(name), "offsets"), nil, &out); err != nil {
		return nil, err
	}
	ps := make([]Position, len(out.Offsets))
	for i, o := range out.Offsets {
		ps[i] = o.Offset
	}
	return ps, nil
}

// State is a connector's and its tasks' state, as GET /connectors/{name}/status reports it.
type State struct {
	Name      string `json:"name"`
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace,omitempty"`
	} `json:"connector"`
	Tasks []TaskState `json:"tasks"`
}

// TaskState is one of a connector's tasks: its state and the worker (host:port) that runs it.
type TaskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// Running reports whether the connector and all of its tasks (at least one) run.
func (s State) Running() bool {
	if s.Connector.State != "RUNNING" || len(s.Tasks) == 0 {
		return false
	}
	for _, t := range s.Tasks {
		if t.State != "RUNNING" {
			return false
		}
	}
	return true
}

// Status fetches the named connector's state.
func (c *Client) Status(ctx context.Context, name string) (State, error) {
	var s State
	err := c.do(ctx, http.MethodGet, path.Join("/connectors", url.PathEscape(name), "status"), nil, &s)
	return s, err
}

// WaitRunning polls until the named connector and its tasks run, a task
// fails, or ctx ends.
func (c *Client) WaitRunning(ctx context.Context, name string) (State, error) {
	for {
		s, err := c.Status(ctx, name)
		if err == nil && s.Running() {
			return s, nil
		}
		if err == nil {
			for _, t := range s.Tasks {
				if t.State == "FAILED" {
					return s, fmt.Errorf("connector %s task %d failed: %s", name, t.ID, firstLine(t.Trace))
				}
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("connector %s is %s", name, s.Connector.State)
			}
			return s, fmt.Errorf("wait for connector %s: %w (last: %v)", name, ctx.Err(), err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *Client) do(ctx context.Context, method, p string, body []byte, out any) error {
	var err error
	for _, base := range c.BaseURLs {
		var reached bool
		if reached, err = c.doAt(ctx, base, method, p, body, out); reached {
			return err
		}
	}
	return err
}

// doAt makes one request of the worker at base; reached is false when the
// worker could not be reached, and another may answer instead.
func (c *Client) doAt(ctx context.Context, base, method, p string, body []byte, out any) (reached bool, err error) {
	req, err := http.NewRequestWithContext(ctx, method, base+p, bytes.NewReader(body))
	if err != nil {
		return true, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return ctx.Err() != nil, fmt.Errorf("%s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return true, fmt.Errorf("%s %s: read response: %w", method, p, err)
	}
	if resp.StatusCode >= 300 {
		return true, &StatusError{Method: method, Path: p, Code: resp.StatusCode, Body: strings.TrimSpace(string(raw))}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return true, fmt.Errorf("%s %s: decode response: %w", method, p, err)
		}
	}
	return true, nil
}

// StatusError is a worker's refusal of a request: its HTTP status and body.
type StatusError struct {
	Method, Path string
	Code         int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Code, http.StatusText(e.Code), e.Body)
}

// rebalancing reports whether err is a worker's 409: the Connect cluster is
// rebalancing, and the request may be made again in a moment.
func rebalancing(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == http.StatusConflict
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// InNamespace returns c for the instance of the system in namespace ns
// (see config.Stack), capturing database: the connector's name, its
// database, topics, server id and schema history are the namespace's own,
// and each event goes to the namespace's topic. In the empty namespace c is
// returned as it is.
func InNamespace(c Connector, ns, database string) (Connector, error) {
	if ns == "" {
		return c, nil
	}
	id, err := strconv.Atoi(c.Config["database.server.id"])
	if err != nil {
		return Connector{}, fmt.Errorf("%s: database.server.id %q is not a number", c.Name, c.Config["database.server.id"])
	}
	st := config.Stack{Namespace: ns}
	out := Overrides{Set: map[string]string{
		"database.include.list":                     database,
		"table.include.list":                        database + ".outbox",
		"topic.prefix":                              ns + "-" + database,
		"database.server.id":                        strconv.Itoa(id + 100),
		"schema.history.internal.kafka.topic":       "schema-history." + ns + "." + database,
		"transforms.outbox.route.topic.replacement": st.Topic("${routedByValue}"),
	}}.Apply(c)
	out.Name = st.Connector(c.Name)
	return out, nil
}

// ForStack loads the project's connectors as they are for the instance of
// the system in st's namespace: each captures its service's database, as
// its DSN names it (see Capturing).
func ForStack(st config.Stack) ([]Connector, error) {
	all, err := Load(debezium.Configs)
	if err != nil {
		return nil, err
	}
	dsn := map[string]string{StoreOutbox: st.StoreDSN, PaymentsOutbox: st.PaymentsDSN}
	for i, c := range all {
		if all[i], err = Capturing(c, st.Namespace, dsn[c.Base], st.KafkaBrokers); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// Capturing returns c capturing the database dsn names, on the server it
// names, in namespace ns (see InNamespace), with its schema history on brokers.
func Capturing(c Connector, ns, dsn, brokers string) (Connector, error) {
	d, err := mysql.ParseDSN(dsn)
	if err != nil {
		return Connector{}, fmt.Errorf("the database of %s: %w", c.Name, err)
	}
	host, port, err := net.SplitHostPort(d.Addr)
	if err != nil {
		return Connector{}, fmt.Errorf("the database of %s: %w", c.Name, err)
	}
	c = Overrides{DatabaseHost: host, DatabasePort: port, KafkaBrokers: brokers}.Apply(c)
	return InNamespace(c, ns, d.DBName)
}
