// Package console is the operations console store-manager serves at /ops:
// one server-rendered page (html/template, no JavaScript) on the CDC
// pipeline, Kafka, the sagas and stock, with the operators' two actions,
// restarting a connector and replaying a dead letter. It is behind the
// operator key.
package console

import (
	"cmp"
	"context"
	"crypto/subtle"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/store-manager/store-manager/api/httpkit"
	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/operations/kafkainspect"
	"github.com/store-manager/store-manager/operations/sagareport"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/store"
)

// LocalOperatorKey is the operator key of local development (OPERATOR_API_KEY elsewhere).
const LocalOperatorKey = "local-operator-key"

// Store is what the console reads of the store.
type Store interface {
	Order(ctx context.Context, id int64) (events.Order, error)
	LowStock(ctx context.Context, threshold int64, limit int) ([]store.Product, error)
	CheckReadModel(ctx context.Context) (store.ReadModelCheck, error)
}

// Sagas reports on the sagas (sagareport.Reporter).
type Sagas interface {
	Report(ctx context.Context, since time.Time, limit int) (sagareport.Report, error)
}

// Config wires the console to the system it shows.
type Config struct {
	Stack             config.Stack
	Store             Store
	Sagas             Sagas
	Connectors        []connectors.Connector // the instance's connectors
	SupervisorMetrics string                 // the supervisor's /metrics (canary ages)
	ConnectMetrics    string                 // the Connect workers' /metrics, comma-separated (Debezium's lag)
	KafkaMetrics      []string               // each Kafka node's /metrics (its health)
	Groups            map[string][]string    // consumer group -> its topics (bare names)
	OperatorKey       string
	TracesURL         string        // the trace backend's web interface (Zipkin's), where each order's trace opens
	PanelBudget       time.Duration // how long the page waits for its panels (default 4 s)
	Log               *slog.Logger
}

// Handler serves the console under /ops.
type Handler struct {
	cfg     Config
	connect *connectors.Client
	mux     *http.ServeMux
}

// New builds the console.
func New(cfg Config) *Handler {
	if cfg.PanelBudget == 0 {
		cfg.PanelBudget = 4 * time.Second
	}
	h := &Handler{cfg: cfg, connect: connectors.NewClient(cfg.Stack.ConnectURL), mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /ops", h.page)
	h.mux.HandleFunc("POST /ops/connectors/restart", h.restartConnector)
	h.mux.HandleFunc("POST /ops/dead-letters/replay", h.replay)
	return h
}

// ServeHTTP checks the operator key, and that a form was posted from the
// console itself, before anything else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// No other site may frame the console (clickjacking its buttons).
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
	key := r.Header.Get("X-Operator-Key")
	_, password, basic := r.BasicAuth()
	if basic {
		key = password
	}
	const challenge = `Basic realm="Store Manager operations", charset="UTF-8"`
	switch {
	case key == "":
		w.Header().Set("WWW-Authenticate", challenge)
		httpkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "the console needs the operator key (as the password)"})
		return
	case subtle.ConstantTimeCompare([]byte(key), []byte(h.cfg.OperatorKey)) != 1:
		if basic { // a browser asks again
			w.Header().Set("WWW-Authenticate", challenge)
			httpkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong operator key"})
			return
		}
		httpkit.WriteJSON(w, http.StatusForbidden, map[string]string{"error": "wrong operator key"})
		return
	}
	if r.Method == http.MethodPost {
		if !sameSite(r) {
			httpkit.WriteJSON(w, http.StatusForbidden, map[string]string{"error": "forms are posted from the console itself"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
	}
	if _, pattern := h.mux.Handler(r); pattern == "" { // errors are JSON, as everywhere else
		if allow, ok := allowed[r.URL.Path]; ok {
			w.Header().Set("Allow", allow)
			httpkit.WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
			return
		}
		httpkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// sameSite reports whether a form comes from a page of this site: the
// browser says so (Sec-Fetch-Site), or its Origin is this site's, scheme,
// host and port alike. Behind the gateway, this site is what the gateway was
// asked for (X-Forwarded-Host and -Proto, which a cross-site form cannot
// set). Clients that are not browsers send neither header.
func sameSite(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	if fh := r.Header.Get("X-Forwarded-Host"); fh != "" {
		host = fh
	}
	u, err := url.Parse(o)
	return err == nil && u.Scheme == scheme && withPort(u.Host, scheme) == withPort(host, scheme)
}

// withPort writes host with its port, the scheme's default when it has none.
func withPort(host, scheme string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return strings.ToLower(host)
	}
	port := "80"
	if scheme == "https" {
		port = "443"
	}
	return strings.ToLower(net.JoinHostPort(strings.Trim(host, "[]"), port))
}

// allowed is the method of each of the console's paths.
var allowed = map[string]string{"/ops": "GET", "/ops/connectors/restart": "POST", "/ops/dead-letters/replay": "POST"}

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"bars":     bars,
	"latency":  latencyChart,
	"traceURL": traceURL,
}).Parse(pageHTML))

// traceURL is where an order's trace opens in Zipkin's web interface at
// base, or "" when there is no interface or the order was not traced.
func traceURL(base, traceID string) string {
	if base == "" || traceID == "" {
		return ""
	}
	return strings.TrimSuffix(base, "/") + "/zipkin/traces/" + url.PathEscape(traceID)
}

// view is everything the page shows; a part that could not be read says why.
type view struct {
	Now             time.Time
	Notice          string
	Connectors      []connectorView
	Lags            []kafkainspect.Lag
	Nodes           []kafkainspect.Node
	DeadLetters     []deadLetterView // the newest maxDeadLetters
	DeadLetterCount int
	Sagas           sagareport.Report
	Order           *events.Order
	OrderID         string
	TracesURL       string
	LowStock        []store.Product
	Check           *store.ReadModelCheck
	Problems        []string
}

// maxDeadLetters is how many dead letters the page lists.
const maxDeadLetters = 20

type deadLetterView struct {
	kafkainspect.DeadLetter
	EventTopic string // the topic it is replayed to, by its bare name
}

type connectorView struct {
	Name, State, Worker string
	Tasks               []string
	CanaryAge, BehindMs string
}

// panel reads one part of the page; what it returns fills its part of the view.
type panel struct {
	name string
	read func(ctx context.Context) func(*view)
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	// A panel whose source does not answer in time says so; the others are shown.
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.PanelBudget)
	defer cancel()
	v := view{Now: time.Now(), Notice: h.notice(r.URL.Query()), OrderID: r.URL.Query().Get("order"), TracesURL: h.cfg.TracesURL}
	panels := []panel{{"pipeline", h.pipeline}, {"Kafka nodes", h.nodes}, {"consumer lag", h.lags}, {"dead letters", h.deadLetters},
		{"sagas", h.sagas}, {"low stock", h.lowStock}}
	if v.OrderID != "" {
		panels = append(panels, panel{"order", func(ctx context.Context) func(*view) { return h.order(ctx, v.OrderID) }})
	}
	if r.URL.Query().Get("check") == "stock" {
		panels = append(panels, panel{"read model check", h.check})
	}
	filled := make(chan func(*view), len(panels))
	for _, p := range panels {
		go func() { filled <- p.read(ctx) }()
	}
	for range panels {
		select {
		case fill := <-filled:
			fill(&v)
		case <-ctx.Done():
			v.Problems = append(v.Problems, fmt.Sprintf("some panels did not answer within %s", h.cfg.PanelBudget))
		}
		if ctx.Err() != nil {
			break
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	if err := page.Execute(w, v); err != nil {
		h.cfg.Log.Error("render the console", "err", err)
	}
}

// failed is a panel that could not be read.
func failed(what string, err error) func(*view) {
	return func(v *view) { v.Problems = append(v.Problems, what+": "+err.Error()) }
}

func (h *Handler) pipeline(ctx context.Context) func(*view) {
	var out []connectorView
	var problems []string
	for _, o := range connectors.Observe(ctx, h.connect, h.cfg.Connectors, h.cfg.SupervisorMetrics, h.cfg.ConnectMetrics) {
		cv := connectorView{Name: o.Name, State: "UNKNOWN", CanaryAge: "?", BehindMs: "?"}
		if o.StatusErr == nil {
			cv.State, cv.Worker = o.State.Connector.State, o.State.Connector.WorkerID
			for _, t := range o.State.Tasks {
				cv.Tasks = append(cv.Tasks, fmt.Sprintf("%d %s", t.ID, t.State))
			}
		} else {
			problems = append(problems, "connector "+o.Name+": "+o.StatusErr.Error())
		}
		if o.CanaryAge != nil {
			cv.CanaryAge = fmt.Sprintf("%.0f s", *o.CanaryAge)
		}
		if o.BehindMs != nil {
			cv.BehindMs = fmt.Sprintf("%.0f ms", *o.BehindMs)
		}
		out = append(out, cv)
	}
	return func(v *view) { v.Connectors, v.Problems = out, append(v.Problems, problems...) }
}

// nodes reads each Kafka node's health: up, the active controller, the
// partitions it leads and those short of copies or without a leader.
func (h *Handler) nodes(ctx context.Context) func(*view) {
	names := make([]string, len(h.cfg.KafkaMetrics))
	for i, u := range h.cfg.KafkaMetrics {
		names[i] = strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/metrics")
	}
	nodes := kafkainspect.Nodes(ctx, names, h.cfg.KafkaMetrics)
	problems := kafkainspect.Problems(nodes)
	return func(v *view) { v.Nodes, v.Problems = nodes, append(v.Problems, problems...) }
}

func (h *Handler) lags(context.Context) func(*view) {
	var out []kafkainspect.Lag
	for group, topics := range h.cfg.Groups {
		named := make([]string, len(topics))
		for i, t := range topics {
			named[i] = h.cfg.Stack.Topic(t)
		}
		lags, err := kafkainspect.GroupLags(h.cfg.Stack.KafkaBrokers, h.cfg.Stack.Group(group), named)
		if err != nil {
			return failed("consumer lag of "+group, err)
		}
		out = append(out, lags...)
	}
	slices.SortFunc(out, func(a, b kafkainspect.Lag) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return func(v *view) { v.Lags = out }
}

func (h *Handler) deadLetters(ctx context.Context) func(*view) {
	var out []deadLetterView
	for _, t := range events.Topics {
		letters, err := kafkainspect.ReadDeadLetters(ctx, h.cfg.Stack.KafkaBrokers, h.cfg.Stack.Topic(consumer.DeadLetterTopic(t)))
		if err != nil {
			return failed("dead letters of "+t, err)
		}
		for _, d := range letters {
			out = append(out, deadLetterView{d, t})
		}
	}
	total := len(out)
	out = out[max(0, len(out)-maxDeadLetters):] // the newest
	return func(v *view) { v.DeadLetters, v.DeadLetterCount = out, total }
}

func (h *Handler) sagas(ctx context.Context) func(*view) {
	r, err := h.cfg.Sagas.Report(ctx, time.Now().Add(-time.Hour), 10)
	if err != nil {
		return failed("sagas", err)
	}
	return func(v *view) { v.Sagas = r }
}

func (h *Handler) order(ctx context.Context, raw string) func(*view) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return failed("order", errors.New("an order id is a positive number"))
	}
	o, err := h.cfg.Store.Order(ctx, id)
	if err != nil {
		return failed("order "+raw, err)
	}
	return func(v *view) { v.Order = &o }
}

func (h *Handler) lowStock(ctx context.Context) func(*view) {
	low, err := h.cfg.Store.LowStock(ctx, sagareport.LowStockThreshold, 20)
	if err != nil {
		return failed("low stock", err)
	}
	return func(v *view) { v.LowStock = low }
}

func (h *Handler) check(ctx context.Context) func(*view) {
	c, err := h.cfg.Store.CheckReadModel(ctx)
	if err != nil {
		return failed("read model check", err)
	}
	return func(v *view) { v.Check = &c }
}

// back sends the browser to the console with a notice (Post/Redirect/Get):
// done names one of the console's own messages, never the message itself.
func back(w http.ResponseWriter, r *http.Request, done url.Values) {
	http.Redirect(w, r, "/ops?"+done.Encode(), http.StatusSeeOther)
}

// notice is the message a redirect's done= asks for, when it is one the
// console wrote: a link from elsewhere cannot put words on the page.
func (h *Handler) notice(q url.Values) string {
	switch q.Get("done") {
	case "restarted":
		name := q.Get("connector")
		if slices.ContainsFunc(h.cfg.Connectors, func(c connectors.Connector) bool { return c.Name == name }) {
			return "Restarted connector " + name + "."
		}
	case "replayed":
		if id, err := uuid.Parse(q.Get("event")); err == nil {
			return "Replayed event " + id.String() + ": back on its topic, where a consumer that applied it already skips it."
		}
	}
	return ""
}

// restartConnector restarts one of the instance's connectors with its
// tasks, as the supervisor does, and writes who asked in the log.
func (h *Handler) restartConnector(w http.ResponseWriter, r *http.Request) {
	name := r.PostFormValue("connector")
	if !slices.ContainsFunc(h.cfg.Connectors, func(c connectors.Connector) bool { return c.Name == name }) {
		httpkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such connector"})
		return
	}
	h.cfg.Log.Warn("operator restarts a connector", "connector", name, "from", r.RemoteAddr)
	if err := h.connect.Restart(r.Context(), name); err != nil {
		h.cfg.Log.Error("operator restart failed", "connector", name, "err", err)
		httpkit.WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "Kafka Connect refused the restart"})
		return
	}
	back(w, r, url.Values{"done": {"restarted"}, "connector": {name}})
}

// replay puts one dead letter back on its topic; consumers that applied its
// event already skip it.
func (h *Handler) replay(w http.ResponseWriter, r *http.Request) {
	topic := r.PostFormValue("topic") // the bare event topic
	partition, perr := strconv.ParseInt(r.PostFormValue("partition"), 10, 32)
	offset, oerr := strconv.ParseInt(r.PostFormValue("offset"), 10, 64)
	if !slices.Contains(events.Topics, topic) || perr != nil || oerr != nil {
		httpkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "a replay names an event topic, a partition and an offset"})
		return
	}
	letters, err := kafkainspect.ReadDeadLetters(r.Context(), h.cfg.Stack.KafkaBrokers, h.cfg.Stack.Topic(consumer.DeadLetterTopic(topic)))
	if err != nil {
		httpkit.WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "Kafka did not answer"})
		return
	}
	d, ok := kafkainspect.FindDeadLetter(letters, int32(partition), offset)
	if !ok {
		httpkit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such dead letter"})
		return
	}
	h.cfg.Log.Warn("operator replays a dead letter", "topic", topic, "partition", partition, "offset", offset, "event", d.ID, "from", r.RemoteAddr)
	if err := kafkainspect.Replay(r.Context(), h.cfg.Stack.KafkaBrokers, d, h.cfg.Stack.Topic(topic)); err != nil {
		httpkit.WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "the replay did not reach Kafka"})
		return
	}
	back(w, r, url.Values{"done": {"replayed"}, "event": {d.ID}})
}
