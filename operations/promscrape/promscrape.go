// Package promscrape reads values from a Prometheus text page (/metrics), for
// the tools that show what the system's parts report about themselves.
package promscrape

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Gauge reads one gauge from a /metrics page, by the value of one label
// ("" for a gauge without it).
func Gauge(ctx context.Context, url, metric, label string) map[string]float64 {
	out := map[string]float64{}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return out
	}
	if f, ok := families[metric]; ok {
		for _, m := range f.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == label {
					key = l.GetValue()
				}
			}
			out[key] = m.GetGauge().GetValue() + m.GetUntyped().GetValue() // the JMX exporter's are untyped
		}
	}
	return out
}
