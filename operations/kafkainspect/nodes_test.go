package kafkainspect

import (
	"slices"
	"testing"
)

// What a cluster's nodes say is wrong: a node down, the controller count,
// partitions short of copies or without a leader.
func TestProblems(t *testing.T) {
	up := func(name string, controller bool) Node {
		return Node{Name: name, Up: true, Controller: controller, Leads: 10}
	}
	lagging := up("kafka-2", false)
	lagging.UnderReplicated = 4
	offline := up("kafka", true)
	offline.Offline = 2
	cases := []struct {
		name  string
		nodes []Node
		want  []string
	}{
		{"a whole cluster", []Node{up("kafka", true), up("kafka-2", false), up("kafka-3", false)}, nil},
		{"one node", []Node{up("kafka", true)}, nil},
		{"a node down", []Node{up("kafka", true), {Name: "kafka-2"}, up("kafka-3", false)},
			[]string{"Kafka node kafka-2 is down (or its metrics do not answer)"}},
		{"no controller", []Node{up("kafka", false), up("kafka-2", false)}, []string{"0 active KRaft controllers, not one"}},
		{"two controllers", []Node{up("kafka", true), up("kafka-2", true)}, []string{"2 active KRaft controllers, not one"}},
		{"short of copies", []Node{up("kafka", true), lagging}, []string{"4 partitions lack an in-sync copy"}},
		{"without a leader", []Node{offline, up("kafka-2", false)}, []string{"2 partitions have no leader"}},
		{"nothing known", nil, nil},
	}
	for _, tc := range cases {
		if got := Problems(tc.nodes); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
