// Package promscrape reads values from a Prometheus text page (/metrics), for
// the tools that show what the system's parts report about themselves.
package promscrape

import (
	"context"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Page is a /metrics page as read once: its metric families by name. A
// page that could not be read is empty.
type Page map[string]*dto.MetricFamily

// Read fetches and parses a /metrics page.
func Read(ctx context.Context, url string) Page {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Page{}
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return Page{}
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return Page{}
	}
	return families
}

// Gauge reads one gauge of the page, by the value of one label ("" for a
// gauge without it).
func (p Page) Gauge(metric, label string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range p[metric].GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		out[key] = m.GetGauge().GetValue() + m.GetUntyped().GetValue() // the JMX exporter's are untyped
	}
	return out
}

// Gauge reads one gauge from a /metrics page, by the value of one label
// ("" for a gauge without it).
func Gauge(ctx context.Context, url, metric, label string) map[string]float64 {
	return Read(ctx, url).Gauge(metric, label)
}
