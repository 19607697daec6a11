package connectors

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Restart restarts a connector and all of its tasks.
func (c *Client) Restart(ctx context.Context, name string) error {
	p := path.Join("/connectors", url.PathEscape(name), "restart") + "?includeTasks=true&onlyFailed=false"
	return c.do(ctx, http.MethodPost, p, nil, nil)
}

// Health is what the supervisor knows of one connector at one moment.
type Health struct {
	State     State
	StatusErr error         // the status could not be read (the worker is down)
	CanaryAge time.Duration // since the newest canary of the connector's outbox reached Kafka
}

// healthy reports whether the connector runs and relays.
func (h Health) healthy(late time.Duration) bool {
	return h.StatusErr == nil && h.State.Running() && h.CanaryAge <= late
}

// Action is what the supervisor does about a connector.
type Action string

// The supervisor's actions, from the mildest.
const (
	Wait           Action = ""               // healthy, or within the backoff
	RestartTasks   Action = "restart"        // restart the connector and its tasks
	RestartWorker  Action = "restart-worker" // restarts did not help: restart the Connect worker
	GiveUp         Action = "give-up"        // the worker restarts did not help either
	backoffInitial        = 5 * time.Second
	backoffMax            = time.Minute
)

// Policy says when the supervisor acts.
type Policy struct {
	Late            time.Duration // a canary older than this means the relay is stalled
	RestartsBefore  int           // connector restarts before the worker is restarted
	WorkersBeforeUp int           // worker restarts before the supervisor gives up (and alerts)
}

// watch is the supervisor's memory of one connector.
type watch struct {
	attempts int       // actions since the connector was last healthy
	next     time.Time // no action before this
	backoff  time.Duration
}

// decide is the supervisor's policy for one connector at now: restart its
// tasks, then escalate to the worker, then give up, never acting again
// before the backoff since the last action has passed.
func (p Policy) decide(w *watch, h Health, now time.Time) Action {
	if h.healthy(p.Late) {
		*w = watch{}
		return Wait
	}
	if now.Before(w.next) {
		return Wait
	}
	if w.backoff == 0 {
		w.backoff = backoffInitial
	} else {
		w.backoff = min(2*w.backoff, backoffMax)
	}
	w.next = now.Add(w.backoff)
	w.attempts++
	switch {
	case w.attempts <= p.RestartsBefore && h.StatusErr == nil:
		return RestartTasks
	case w.attempts <= p.RestartsBefore+p.WorkersBeforeUp:
		return RestartWorker
	default:
		return GiveUp
	}
}

// The supervisor's metrics.
var (
	supervisorActions = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "connect_supervisor_actions_total",
		Help: "What the connector supervisor did, by connector and action (restart, restart-worker, give-up).",
	}, []string{"connector", "action"})
	canaryAge = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "connect_canary_age_seconds",
		Help: "Time since the newest canary row of a connector's outbox reached Kafka.",
	}, []string{"connector"})
	connectorUp = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "connect_connector_running",
		Help: "1 when a connector and all its tasks report RUNNING, else 0.",
	}, []string{"connector"})
	givenUp = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "connect_supervisor_given_up",
		Help: "1 when the supervisor gave up healing a connector: a person is needed.",
	}, []string{"connector"})
)

// Supervisor keeps connectors relaying: it restarts a connector and its
// tasks when a task has failed or its canary is late, with backoff, and
// restarts the Connect worker when that does not help.
type Supervisor struct {
	Client        *Client
	Connectors    []string
	Policy        Policy
	Canary        func(connector string) time.Duration // age of the connector's newest relayed canary
	RestartWorker func(ctx context.Context) error
	Log           *slog.Logger
}

// Run checks every interval until ctx ends.
func (s *Supervisor) Run(ctx context.Context, interval time.Duration) error {
	watches := map[string]*watch{}
	for _, name := range s.Connectors {
		watches[name] = &watch{}
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for _, name := range s.Connectors {
			s.check(ctx, name, watches[name])
		}
	}
}

func (s *Supervisor) check(ctx context.Context, name string, w *watch) {
	var h Health
	h.State, h.StatusErr = s.Client.Status(ctx, name)
	h.CanaryAge = s.Canary(name)
	canaryAge.WithLabelValues(name).Set(h.CanaryAge.Seconds())
	running := 0.0
	if h.StatusErr == nil && h.State.Running() {
		running = 1
	}
	connectorUp.WithLabelValues(name).Set(running)
	action := s.Policy.decide(w, h, time.Now())
	if action == Wait {
		if w.attempts == 0 {
			givenUp.WithLabelValues(name).Set(0)
		}
		return
	}
	supervisorActions.WithLabelValues(name, string(action)).Inc()
	log := s.Log.With("connector", name, "action", string(action), "attempt", w.attempts, "next_in", w.backoff,
		"state", h.State.Connector.State, "canary_age", h.CanaryAge.Round(time.Second), "status_err", h.StatusErr)
	var err error
	switch action {
	case RestartTasks:
		err = s.Client.Restart(ctx, name)
	case RestartWorker:
		err = s.RestartWorker(ctx)
	case GiveUp:
		givenUp.WithLabelValues(name).Set(1)
		log.Error("connector supervisor: restarts did not help; a person is needed")
		return
	}
	if err != nil {
		log.Error("connector supervisor: action failed", "err", err)
		return
	}
	log.Warn("connector supervisor: acted")
}
