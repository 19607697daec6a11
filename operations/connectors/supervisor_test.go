package connectors

import (
	"errors"
	"testing"
	"time"
)

func running() State {
	var s State
	s.Connector.State = "RUNNING"
	s.Connector.WorkerID = "127.0.0.1:8083"
	s.Tasks = append(s.Tasks, TaskState{State: "RUNNING", WorkerID: "127.0.0.1:8283"})
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

// A task that failed because its binlog was purged gets its offsets reset
// (a restart could not help), and a connector reading its tables is healthy
// even though its canaries wait until it is done.
func TestSupervisorPolicyAfterPurgedBinlog(t *testing.T) {
	purged := func(trace string) State {
		s := failed()
		s.Tasks[0].Trace = trace
		return s
	}
	p := Policy{Late: 15 * time.Second, RestartsBefore: 2, WorkersBeforeUp: 1}
	t0 := time.Unix(1_000_000, 0)
	steps := []struct {
		at     time.Duration
		health Health
		want   Action
	}{
		{0, Health{State: purged("io.debezium.DebeziumException: Could not find GTID state requested by slave in any binlog files. " +
			"Probably the slave state is too old and required binlog files have been purged. Error code: 1236; SQLSTATE: HY000.")}, ResetOffsets},
		{1 * time.Second, Health{State: running(), CanaryAge: time.Minute, Snapshotting: true}, Wait},
		{30 * time.Second, Health{State: running(), CanaryAge: 5 * time.Minute, Snapshotting: true}, Wait},
		{31 * time.Second, Health{State: running(), CanaryAge: time.Second}, Wait},
		{32 * time.Second, Health{State: purged("The connector is trying to read binlog starting at binlog.000003, but this is " +
			"no longer available on the server. Reconfigure the connector to use a snapshot when needed.")}, ResetOffsets},
		{33 * time.Second, Health{State: failed()}, Wait}, // within the backoff
		{38 * time.Second, Health{State: failed()}, RestartTasks},
		{50 * time.Second, Health{State: running(), CanaryAge: time.Minute}, RestartWorker}, // late and not snapshotting
	}
	var w watch
	for i, st := range steps {
		if got := p.decide(&w, st.health, t0.Add(st.at)); got != st.want {
			t.Fatalf("step %d at %s: %q, want %q", i, st.at, got, st.want)
		}
	}
}

// The worker to restart is the one that runs the failing task, else the
// connector's, else unknown.
func TestHost(t *testing.T) {
	var unknown State
	cases := []struct {
		name  string
		state State
		want  string
	}{
		{"a failed task", failed(), "127.0.0.1:8283"},
		{"every task running", running(), "127.0.0.1:8083"},
		{"no status", unknown, ""},
	}
	for _, tc := range cases {
		if got := tc.state.Host(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
