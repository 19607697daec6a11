package connectors

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Restart restarts a connector and all of its tasks.
func (c *Client) Restart(ctx context.Context, name string) error {
	p := path.Join("/connectors", url.PathEscape(name), "restart") + "?includeTasks=true&onlyFailed=false"
	return c.do(ctx, http.MethodPost, p, nil, nil)
}

// Snapshotting reports whether the connector is reading its tables rather
// than the binlog: its offsets are not written yet, or they say a snapshot
// is under way. Canaries written meanwhile are relayed after the snapshot.
func (c *Client) Snapshotting(ctx context.Context, name string) (bool, error) {
	var out struct {
		Offsets []struct {
			Offset map[string]any `json:"offset"`
		} `json:"offsets"`
	}
	if err := c.do(ctx, http.MethodGet, path.Join("/connectors", url.PathEscape(name), "offsets"), nil, &out); err != nil {
		return false, err
	}
	if len(out.Offsets) == 0 {
		return true, nil
	}
	for _, o := range out.Offsets {
		if _, ok := o.Offset["snapshot"]; ok {
			return true, nil
		}
	}
	return false, nil
}

// ResetOffsets forgets where the connector stopped reading: it stops the
// connector, deletes its offsets and resumes it. With snapshot.mode
// when_needed, the connector then reads its tables again (every outbox row
// still there is relayed once more) and streams the binlog from the present.
// A request the worker refuses while its cluster rebalances is made again;
// a connector it stopped is resumed even when the reset fails, so it is
// never left stopped.
func (c *Client) ResetOffsets(ctx context.Context, name string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute) // a worker that never stops it does not hold the caller
	defer cancel()
	base := path.Join("/connectors", url.PathEscape(name))
	if err := c.retrying(ctx, http.MethodPut, base+"/stop"); err != nil {
		return err
	}
	defer func() {
		if rerr := c.Resume(context.WithoutCancel(ctx), name); err == nil {
			err = rerr
		}
	}()
	for {
		s, err := c.Status(ctx, name)
		if err == nil && s.Connector.State == "STOPPED" {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for connector %s to stop: %w", name, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
	return c.retrying(ctx, http.MethodDelete, base+"/offsets")
}

// Pause pauses a connector and its tasks: they stop relaying, and the rows
// they would relay wait until Resume. A request the worker refuses while its
// cluster rebalances is made again.
func (c *Client) Pause(ctx context.Context, name string) error {
	return c.retrying(ctx, http.MethodPut, path.Join("/connectors", url.PathEscape(name), "pause"))
}

// Resume starts a paused or stopped connector and its tasks again. A request
// the worker refuses while its cluster rebalances is made again.
func (c *Client) Resume(ctx context.Context, name string) error {
	return c.retrying(ctx, http.MethodPut, path.Join("/connectors", url.PathEscape(name), "resume"))
}

// retrying makes a request without a body, again while the worker answers
// that its cluster is rebalancing, for up to 30 seconds or until ctx ends.
func (c *Client) retrying(ctx context.Context, method, p string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.do(ctx, method, p, nil, nil)
		if !rebalancing(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Host is the worker (host:port) that runs the connector's first task that
// is not running, or else the connector itself: the one to restart when
// restarting the connector did not help. "" when the status does not say.
func (s State) Host() string {
	for _, t := range s.Tasks {
		if t.State != "RUNNING" && t.WorkerID != "" {
			return t.WorkerID
		}
	}
	return s.Connector.WorkerID
}

// Health is what the supervisor knows of one connector at one moment.
type Health struct {
	State        State
	StatusErr    error         // the status could not be read (the worker is down)
	CanaryAge    time.Duration // since the newest canary of the connector's outbox reached Kafka
	Snapshotting bool          // the connector is reading its tables (canaries wait until it is done)
}

// healthy reports whether the connector runs and relays, or reads its tables.
func (h Health) healthy(late time.Duration) bool {
	return h.StatusErr == nil && h.State.Running() && (h.CanaryAge <= late || h.Snapshotting)
}

// PositionLost reports whether a task failed because the binlog it was to
// read from is gone (purged, or older than the server keeps): MySQL and
// MariaDB answer error 1236, and Debezium says so when it checks first.
// Only ResetOffsets helps then.
func (s State) PositionLost() bool {
	for _, t := range s.Tasks {
		if t.State == "FAILED" && (strings.Contains(t.Trace, "Error code: 1236") ||
			strings.Contains(t.Trace, "is no longer available on the server")) {
			return true
		}
	}
	return false
}

// Action is what the supervisor does about a connector.
type Action string

// The supervisor's actions, from the mildest.
const (
	Wait           Action = ""               // healthy, or within the backoff
	RestartTasks   Action = "restart"        // restart the connector and its tasks
	ResetOffsets   Action = "reset-offsets"  // its binlog position is gone: read the tables again, then stream
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
	case h.StatusErr == nil && h.State.PositionLost(): // no restart can help: only a new snapshot can
		return ResetOffsets
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
		Help: "What the connector supervisor did, by connector and action (restart, reset-offsets, restart-worker, give-up).",
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
// restarts the Connect worker when that does not help. A connector whose
// binlog position was purged has its offsets reset instead, and a
// connector reading its tables is left to finish.
type Supervisor struct {
	Client     *Client
	Connectors []string
	Policy     Policy
	Canary     func(connector string) time.Duration // age of the connector's newest relayed canary
	// RestartWorker restarts the Connect worker with that REST address
	// (host:port): the one that runs the connector's failing task, or the
	// connector; "" when the cluster could not say.
	RestartWorker func(ctx context.Context, workerID string) error
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
	if h.StatusErr == nil && h.State.Running() && h.CanaryAge > s.Policy.Late {
		h.Snapshotting, _ = s.Client.Snapshotting(ctx, name) // unknown: as not snapshotting
	}
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
	case ResetOffsets:
		err = s.Client.ResetOffsets(ctx, name)
	case RestartWorker:
		err = s.RestartWorker(ctx, h.State.Host())
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
