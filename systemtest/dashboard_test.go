package systemtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

var (
	promqlBraces     = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]|\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdentifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promqlKeywords   = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "and": true, "or": true, "unless": true, "offset": true}
)

// metricNames lists the metrics a PromQL expression reads: its identifiers
// that are not functions, keywords, labels or durations.
func metricNames(expr string) []string {
	var out []string
	for _, m := range promqlIdentifier.FindAllString(promqlBraces.ReplaceAllString(expr, " "), -1) {
		if m[len(m)-1] == '(' || promqlKeywords[m] {
			continue
		}
		out = append(out, m)
	}
	return out
}

// Every query of the committed Grafana dashboard is valid PromQL for the
// Prometheus of the stack, and every metric it reads is one the system
// exports (Prometheus has scraped it).
func TestDashboardQueriesExportedMetrics(t *testing.T) {
	stacktest.Stack(t)
	raw, err := os.ReadFile(filepath.Join(systemkit.Root(), "stack", "grafana", "dashboards", "store-manager.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	get := promGet
	var wanted []string
	queries := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			queries++
			var res struct {
				Status string `json:"status"`
				Error  string `json:"error"`
			}
			if err := get("/api/v1/query?query="+url.QueryEscape(target.Expr), &res); err != nil || res.Status != "success" {
				t.Errorf("panel %q: %s: %v %s", p.Title, target.Expr, err, res.Error)
			}
			wanted = append(wanted, metricNames(target.Expr)...)
		}
	}
	if queries < 15 || len(wanted) < 15 {
		t.Fatalf("the dashboard has %d queries reading %d metrics: fewer than it was written with", queries, len(wanted))
	}
	var missing []string
	stacktest.Eventually(t, 60*time.Second, "every metric of the dashboard exported", func() bool {
		var names struct {
			Data []string `json:"data"`
		}
		if err := get("/api/v1/label/__name__/values", &names); err != nil {
			return false
		}
		missing = missing[:0]
		for _, m := range wanted {
			if !slices.Contains(names.Data, m) {
				missing = append(missing, m)
			}
		}
		return len(missing) == 0
	})
	if len(missing) > 0 {
		t.Errorf("not exported: %v", missing)
	}
}

func TestMetricNamesOfPromQL(t *testing.T) {
	cases := map[string][]string{
		`connect_canary_age_seconds`: {"connect_canary_age_seconds"},
		`histogram_quantile(0.99, sum by (le, outcome) (rate(saga_duration_seconds_bucket[5m])))`:                {"saga_duration_seconds_bucket"},
		`sum by (group) (rate(consumer_event_age_seconds_bucket{group=~".*saga"}[5m])) / on(group) consumer_lag`: {"consumer_event_age_seconds_bucket", "consumer_lag"},
	}
	for expr, want := range cases {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %v, want %v", expr, got, want)
		}
	}
}

// promGet decodes a Prometheus API answer.
func promGet(path string, out any) error {
	resp, err := http.Get(systemkit.Instance().PrometheusURL() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

// On a healthy stack, Prometheus scrapes only what runs: every target it
// has is up (an instance that was never started, or was stopped through
// the stack, is not on its list), and so TargetDown does not fire.
func TestPrometheusScrapesOnlyWhatRuns(t *testing.T) {
	systemkit.New(t)
	var down []string
	stacktest.Eventually(t, 60*time.Second, "every target up and TargetDown quiet", func() bool {
		var targets struct {
			Data struct {
				ActiveTargets []struct {
					ScrapeURL string `json:"scrapeUrl"`
					Health    string `json:"health"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		var alerts struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string `json:"labels"`
					State  string            `json:"state"`
				} `json:"alerts"`
			} `json:"data"`
		}
		if promGet("/api/v1/targets?state=active", &targets) != nil || promGet("/api/v1/alerts", &alerts) != nil {
			return false
		}
		down = down[:0]
		for _, tg := range targets.Data.ActiveTargets {
			if tg.Health != "up" {
				down = append(down, tg.ScrapeURL+" "+tg.Health)
			}
		}
		for _, a := range alerts.Data.Alerts {
			if a.Labels["alertname"] == "TargetDown" && a.State == "firing" {
				down = append(down, "TargetDown firing for "+a.Labels["instance"])
			}
		}
		return len(targets.Data.ActiveTargets) > 0 && len(down) == 0
	})
	if len(down) > 0 {
		t.Fatalf("not up: %v", down)
	}
}
