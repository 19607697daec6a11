package connectors

import (
	"context"
	"maps"
	"strings"

	"github.com/store-manager/store-manager/operations/promscrape"
)

// Observed is what operators see of one connector: its state as Kafka
// Connect reports it, its canary's age as the supervisor reports it, and
// how far Debezium is behind the binlog as the worker reports it.
type Observed struct {
	Connector
	State     State
	StatusErr error    // the status could not be read
	CanaryAge *float64 // seconds; nil: the supervisor does not say
	BehindMs  *float64 // nil: the worker's metrics do not say
}

// Observe reads each connector's status from c, its canary's age from the
// supervisor's metrics page and Debezium's lag from the workers' (a
// comma-separated list: the worker that runs a connector's task reports it).
func Observe(ctx context.Context, c *Client, all []Connector, supervisorMetrics, connectMetrics string) []Observed {
	ages := promscrape.Gauge(ctx, supervisorMetrics, "connect_canary_age_seconds", "connector")
	behind := map[string]float64{}
	for _, url := range strings.Split(connectMetrics, ",") {
		maps.Copy(behind, promscrape.Gauge(ctx, url, "debezium_streaming_millisecondsbehindsource", "server"))
	}
	out := make([]Observed, 0, len(all))
	for _, conn := range all {
		o := Observed{Connector: conn}
		o.State, o.StatusErr = c.Status(ctx, conn.Name)
		if age, ok := ages[conn.Name]; ok {
			o.CanaryAge = &age
		}
		if ms, ok := behind[conn.Config["topic.prefix"]]; ok {
			o.BehindMs = &ms
		}
		out = append(out, o)
	}
	return out
}
