package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	storedb "github.com/store-manager/store-manager/db/store"

	"github.com/redis/go-redis/v9"

	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/operations/kafkainspect"
	"github.com/store-manager/store-manager/operations/promscrape"
	"github.com/store-manager/store-manager/operations/sagareport"
	"github.com/store-manager/store-manager/services/payments"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/consumer"
	"github.com/store-manager/store-manager/services/platform/events"
	"github.com/store-manager/store-manager/services/platform/server"
	"github.com/store-manager/store-manager/services/store"
	"github.com/store-manager/store-manager/services/store/readmodel"
)

// errUnhealthy makes status exit non-zero.
var errUnhealthy = errors.New("the system is not healthy")

// report is what status finds, as --json prints it.
type report struct {
	Healthy     bool                  `json:"healthy"`
	Problems    []string              `json:"problems"`
	Unknown     []string              `json:"unknown"` // checks that could not be made: never healthy
	Components  map[string]bool       `json:"components"`
	Connectors  []connectorReport     `json:"connectors"`
	Lags        []kafkainspect.Lag    `json:"consumer_lag"`
	Kafka       []kafkainspect.Node   `json:"kafka_nodes"`
	Workers     []workerReport        `json:"connect_workers"`
	DeadLetters map[string]int64      `json:"dead_letters"`
	Sagas       map[string]int64      `json:"sagas"`
	OldestOpen  *sagaAge              `json:"oldest_unfinished_saga,omitempty"`
	Incidents   []sagareport.Incident `json:"open_incidents"`
	Outbox      map[string]float64    `json:"outbox_rows_awaiting_purge"`
}

type connectorReport struct {
	Name      string   `json:"name"`
	State     string   `json:"state"`
	Tasks     []string `json:"tasks"`
	CanaryAge *float64 `json:"canary_age_seconds"` // nil: the supervisor does not answer
	BehindMs  *float64 `json:"debezium_behind_ms"` // nil: the worker's metrics do not say
}

// workerReport is one Kafka Connect worker: whether it answers, and what it runs.
type workerReport struct {
	Name string   `json:"name"`
	Addr string   `json:"addr"`
	Up   bool     `json:"up"`
	Runs []string `json:"runs"` // connectors and tasks, as "store-outbox" and "store-outbox/0"
}

type sagaAge struct {
	Since   time.Time `json:"since"`
	Seconds float64   `json:"age_seconds"`
}

// statusCmd answers "is it healthy?" for the stack's instance: each
// component up or down, connectors and canaries, consumer lag, dead letters,
// sagas by state and the oldest unfinished one. It exits non-zero when
// something is unhealthy, or could not be checked. An open money incident is
// unhealthy.
func statusCmd(ctx context.Context, cfg config.Stack, inst config.Instance, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	deadline := fs.Duration("saga-deadline", 10*time.Minute, "an unfinished saga older than this is unhealthy")
	late := fs.Duration("late", 15*time.Second, "a canary older than this means a stalled relay")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	r := &report{Components: map[string]bool{}, DeadLetters: map[string]int64{}, Outbox: map[string]float64{}}
	for name, up := range components(ctx, cfg, inst) {
		r.Components[name] = up
		if !up {
			r.problem("%s is down", name)
		}
	}
	if err := r.checkConnectors(ctx, cfg, inst, *late); err != nil {
		return err
	}
	r.checkKafka(ctx, inst)
	r.checkLags(cfg)
	r.checkOutboxes(ctx, inst)
	r.checkDeadLetters(cfg)
	r.checkSagas(ctx, cfg, *deadline)
	r.Healthy = len(r.Problems) == 0 && len(r.Unknown) == 0
	if *asJSON {
		if err := printJSON(r); err != nil {
			return err
		}
	} else {
		printReport(*r)
	}
	if !r.Healthy {
		return errUnhealthy
	}
	return nil
}

// problem records something found wrong.
func (r *report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// unknown records a check that could not be made.
func (r *report) unknown(format string, args ...any) {
	r.Unknown = append(r.Unknown, fmt.Sprintf(format, args...))
}

// checkConnectors reports each connector's state, its canary's age and
// Debezium's lag behind the binlog.
func (r *report) checkConnectors(ctx context.Context, cfg config.Stack, inst config.Instance, late time.Duration) error {
	all, err := connectors.ForStack(cfg)
	if err != nil {
		return err
	}
	observed := connectors.Observe(ctx, connectors.NewClient(cfg.ConnectURL), all,
		"http://"+inst.SupervisorAddr()+"/metrics",
		inst.ConnectMetricsURL())
	var states []connectors.State
	for _, o := range observed {
		if o.StatusErr == nil {
			states = append(states, o.State)
		}
		cr := connectorReport{Name: o.Name, State: "UNKNOWN", CanaryAge: o.CanaryAge, BehindMs: o.BehindMs}
		if o.StatusErr == nil {
			cr.State = o.State.Connector.State
			for _, t := range o.State.Tasks {
				cr.Tasks = append(cr.Tasks, t.State)
			}
			if !o.State.Running() {
				r.problem("connector %s is not running: %s %v", o.Name, cr.State, cr.Tasks)
			}
		} else {
			r.problem("connector %s: %v", o.Name, o.StatusErr)
		}
		if ms := o.BehindMs; ms != nil && *ms > 5000 {
			r.problem("Debezium (%s) is %.0fms behind the binlog", o.Name, *ms)
		}
		switch age := o.CanaryAge; {
		case age == nil:
			r.problem("the connector supervisor does not answer for %s", o.Name)
		case *age > late.Seconds():
			r.problem("connector %s relays nothing: its canary is %.0fs old", o.Name, *age)
		}
		r.Connectors = append(r.Connectors, cr)
	}
	r.checkWorkers(ctx, inst, states)
	return nil
}

// checkKafka reads each Kafka node's health from its metrics page: a node
// down, no active controller or more than one, and partitions without a
// leader or short of in-sync copies are problems.
func (r *report) checkKafka(ctx context.Context, inst config.Instance) {
	if _, err := inst.Cluster(); err != nil {
		r.unknown("the Kafka cluster: %v", err)
		return
	}
	names, pages := inst.KafkaNodes()
	r.Kafka = kafkainspect.Nodes(ctx, names, pages)
	for _, p := range kafkainspect.Problems(r.Kafka) {
		r.problem("%s", p)
	}
}

// checkWorkers reports each Connect worker: up, and the connectors and
// tasks it runs (from their status).
func (r *report) checkWorkers(ctx context.Context, inst config.Instance, states []connectors.State) {
	c, err := inst.Cluster()
	if err != nil {
		return
	}
	for k := 1; k <= c.ConnectWorkers; k++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(inst.NodePort("CONNECT_PORT", k)))
		w := workerReport{Name: inst.Replica("connect", k), Addr: addr, Runs: []string{}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		if resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req); err == nil {
			resp.Body.Close()
			w.Up = resp.StatusCode == http.StatusOK
		}
		for _, s := range states {
			if s.Connector.WorkerID == addr {
				w.Runs = append(w.Runs, s.Name)
			}
			for _, t := range s.Tasks {
				if t.WorkerID == addr {
					w.Runs = append(w.Runs, fmt.Sprintf("%s/%d", s.Name, t.ID))
				}
			}
		}
		if !w.Up {
			r.problem("Kafka Connect worker %s (%s) is down", w.Name, addr)
		}
		r.Workers = append(r.Workers, w)
	}
}

// checkLags reads how far each consumer group is behind.
func (r *report) checkLags(cfg config.Stack) {
	groups := map[string][]string{
		cfg.Group(events.GroupProjector):    readmodel.ProjectorTopics,
		cfg.Group(events.GroupStoreSaga):    store.SagaTopics,
		cfg.Group(events.GroupPaymentsSaga): payments.SagaTopics,
	}
	for group, topics := range groups {
		named := make([]string, len(topics))
		for i, t := range topics {
			named[i] = cfg.Topic(t)
		}
		lags, err := kafkainspect.GroupLags(cfg.KafkaBrokers, group, named)
		if err != nil {
			r.unknown("consumer lag of %s: %v", group, err)
			continue
		}
		r.Lags = append(r.Lags, lags...)
	}
}

// checkOutboxes reads each service's count of outbox rows awaiting purge.
func (r *report) checkOutboxes(ctx context.Context, inst config.Instance) {
	for service, url := range map[string]string{
		"store-manager": inst.StoreURL(), "payments": inst.PaymentsURL(),
	} {
		if n, ok := promscrape.Gauge(ctx, url+"/metrics", "outbox_rows_awaiting_purge", "")[""]; ok {
			r.Outbox[service] = n
		} else {
			r.unknown("the outbox of %s: %s/metrics does not say", service, url)
		}
	}
}

// checkDeadLetters counts the messages of each dead-letter topic.
func (r *report) checkDeadLetters(cfg config.Stack) {
	for _, t := range events.Topics {
		dlq := cfg.Topic(consumer.DeadLetterTopic(t))
		switch n, err := kafkainspect.TopicSize(cfg.KafkaBrokers, dlq); {
		case err != nil:
			r.unknown("dead letters in %s: %v", dlq, err)
		case n > 0:
			r.DeadLetters[dlq] = n
		}
	}
}

// checkSagas counts the sagas by state, finds the oldest unfinished one and
// lists the open money incidents, each a problem.
func (r *report) checkSagas(ctx context.Context, cfg config.Stack, deadline time.Duration) {
	db, err := server.OpenDB(ctx, cfg.StoreDSN, 2)
	if err != nil {
		r.unknown("sagas: %v", err)
		return
	}
	defer db.Close()
	reporter := sagareport.New(storedb.New(db), nil)
	states, oldest, err := reporter.States(ctx)
	if err != nil {
		r.unknown("sagas: %v", err)
		return
	}
	if r.Incidents, err = reporter.Incidents(ctx, 100); err != nil {
		r.unknown("incidents: %v", err)
	}
	for _, i := range r.Incidents {
		r.problem("%s (storectl incidents resolve %d NOTE, once looked into)", i, i.ID)
	}
	r.Sagas = states
	if !oldest.IsZero() {
		r.OldestOpen = &sagaAge{Since: oldest, Seconds: time.Since(oldest).Seconds()}
		if time.Since(oldest) > deadline {
			r.problem("a saga has been unfinished since %s, past the %s deadline", oldest.Format(time.RFC3339), deadline)
		}
	}
}

// components checks that each part of the stack answers.
func components(ctx context.Context, cfg config.Stack, inst config.Instance) map[string]bool {
	out := map[string]bool{}
	dial := func(addr string) bool {
		c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	}
	get := func(url string) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode < 500
	}
	db, err := sql.Open("mysql", cfg.StoreDSN)
	out["mariadb"] = err == nil && db.PingContext(ctx) == nil
	if err == nil {
		db.Close()
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword})
	out["redis"] = rdb.Ping(ctx).Err() == nil
	rdb.Close()
	// Up when any node answers: each node and worker has its own line below.
	for _, broker := range strings.Split(cfg.KafkaBrokers, ",") {
		out["kafka"] = out["kafka"] || dial(broker)
	}
	for _, worker := range strings.Split(cfg.ConnectURL, ",") {
		out["kafka-connect"] = out["kafka-connect"] || get(worker+"/")
	}
	out["store-manager"] = get(inst.StoreURL() + "/health-check")
	out["payments"] = get(inst.PaymentsURL() + "/health-check")
	out["gateway"] = get(inst.GatewayURL() + "/health-check")
	out["supervisor"] = get("http://" + inst.SupervisorAddr() + "/metrics")
	out["prometheus"] = get(inst.PrometheusURL() + "/-/healthy")
	out["zipkin"] = get(inst.ZipkinURL() + "/health")
	return out
}

func printReport(r report) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	verdict := "HEALTHY"
	if !r.Healthy {
		verdict = "UNHEALTHY"
	}
	fmt.Fprintf(w, "%s\n\n", verdict)
	fmt.Fprintln(w, "COMPONENT\tUP")
	for _, name := range []string{"mariadb", "redis", "kafka", "kafka-connect", "store-manager", "payments", "gateway", "supervisor", "prometheus", "zipkin"} {
		fmt.Fprintf(w, "%s\t%t\n", name, r.Components[name])
	}
	fmt.Fprintln(w, "\nCONNECTOR\tSTATE\tTASKS\tCANARY AGE\tDEBEZIUM BEHIND")
	for _, c := range r.Connectors {
		age, lag := "-", "-"
		if c.CanaryAge != nil {
			age = fmt.Sprintf("%.1fs", *c.CanaryAge)
		}
		if c.BehindMs != nil {
			lag = fmt.Sprintf("%.0fms", *c.BehindMs)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.State, strings.Join(c.Tasks, ","), age, lag)
	}
	fmt.Fprintln(w, "\nCONNECT WORKER\tADDRESS\tUP\tRUNS")
	for _, wr := range r.Workers {
		fmt.Fprintf(w, "%s\t%s\t%t\t%s\n", wr.Name, wr.Addr, wr.Up, strings.Join(wr.Runs, " "))
	}
	fmt.Fprintln(w, "\nKAFKA NODE\tUP\tCONTROLLER\tLEADS\tUNDER-REPLICATED\tOFFLINE")
	for _, n := range r.Kafka {
		fmt.Fprintf(w, "%s\t%t\t%t\t%.0f\t%.0f\t%.0f\n", n.Name, n.Up, n.Controller, n.Leads, n.UnderReplicated, n.Offline)
	}
	fmt.Fprintln(w, "\nGROUP\tTOPIC\tPARTITION\tBEHIND")
	for _, l := range r.Lags {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\n", l.Group, l.Topic, l.Partition, l.Behind)
	}
	fmt.Fprintln(w, "\nDEAD-LETTER TOPIC\tMESSAGES")
	for topic, n := range r.DeadLetters {
		fmt.Fprintf(w, "%s\t%d\n", topic, n)
	}
	fmt.Fprintln(w, "\nSAGA STATE\tORDERS")
	for state, n := range r.Sagas {
		fmt.Fprintf(w, "%s\t%d\n", state, n)
	}
	if r.OldestOpen != nil {
		fmt.Fprintf(w, "oldest unfinished saga\t%.0fs\n", r.OldestOpen.Seconds)
	}
	fmt.Fprintln(w, "\nOUTBOX\tROWS AWAITING PURGE")
	for service, n := range r.Outbox {
		fmt.Fprintf(w, "%s\t%.0f\n", service, n)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, "\nPROBLEMS")
		for _, p := range r.Problems {
			fmt.Fprintf(w, "%s\n", p)
		}
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintln(w, "\nUNKNOWN (could not be checked)")
		for _, u := range r.Unknown {
			fmt.Fprintf(w, "%s\n", u)
		}
	}
}
