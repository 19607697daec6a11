package connectors

import (
	"errors"
	"testing"
	"time"
)

func running() State {
	var s State
	s.Connector.State = "RUNNING"
	s.Tasks = append(s.Tasks, struct {
		ID    int    `json:"id"`
		State string `json:"state"`
		Trace string `json:"trace,omitempty"`
	}{State: "RUNNING"})
	return s
}

func failed() State {
	s := running()
	s.Tasks[0].State = "FAILED"
	return s
}

// The supervisor restarts tasks, then the worker, then gives up, never
// acting again before its backoff, and starts over once healthy.
func TestSupervisorPolicy(t *testing.T) {
	p := Policy{Late: 15 * time.Second, RestartsBefore: 2, WorkersBeforeUp: 1}
	t0 := time.Unix(1_000_000, 0)
	steps := []struct {
		at     time.Duration
		health Health
		want   Action
	}{
		{0, Health{State: running(), CanaryAge: time.Second}, Wait},
		{1 * time.Second, Health{State: failed()}, RestartTasks},
		{2 * time.Second, Health{State: failed()}, Wait}, // within the 5 s backoff
		{7 * time.Second, Health{State: failed()}, RestartTasks},
		{10 * time.Second, Health{State: failed()}, Wait},                                   // within the 10 s backoff
		{18 * time.Second, Health{State: running(), CanaryAge: time.Minute}, RestartWorker}, // stalled relay
		{30 * time.Second, Health{StatusErr: errors.New("worker down")}, Wait},              // within 20 s
		{40 * time.Second, Health{StatusErr: errors.New("worker down")}, GiveUp},
		{41 * time.Second, Health{State: running(), CanaryAge: time.Second}, Wait}, // healthy: forget
		{42 * time.Second, Health{State: failed()}, RestartTasks},
		{43 * time.Second, Health{StatusErr: errors.New("worker down")}, Wait},
		{48 * time.Second, Health{StatusErr: errors.New("worker down")}, RestartWorker}, // no status: the worker, not the tasks
	}
	var w watch
	for i, st := range steps {
		if got := p.decide(&w, st.health, t0.Add(st.at)); got != st.want {
			t.Fatalf("step %d at %s: %q, want %q", i, st.at, got, st.want)
		}
	}
}
