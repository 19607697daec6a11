// Package storemanager_test keeps docker-compose.yml, which cannot run where
// the tests run, consistent with the native stack that they test.
package storemanager_test

import (
	"encoding/xml"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/store-manager/store-manager/krakend"
)

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Restart  string   `yaml:"restart"`
		Networks []string `yaml:"networks"`
	} `yaml:"services"`
	Networks map[string]struct {
		Internal bool `yaml:"internal"`
	} `yaml:"networks"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// stackVersions reads the Kafka and Debezium versions the native stack pins.
func stackVersions(t *testing.T) (kafka, debezium string) {
	t.Helper()
	raw, err := os.ReadFile("stack/pom.xml")
	if err != nil {
		t.Fatal(err)
	}
	var pom struct {
		Properties struct {
			Kafka    string `xml:"kafka.version"`
			Debezium string `xml:"debezium.version"`
		} `xml:"properties"`
	}
	if err := xml.Unmarshal(raw, &pom); err != nil {
		t.Fatal(err)
	}
	return pom.Properties.Kafka, pom.Properties.Debezium
}

func TestComposeMatchesNativeStack(t *testing.T) {
	c := loadCompose(t)
	svc := func(name string) bool { _, ok := c.Services[name]; return ok }

	// Only the gateway (and its streams) is published on every interface; MySQL, Prometheus,
	// Grafana and Zipkin on the host's loopback, for operators, on the ports used natively.
	// Kafka, Connect's REST API, Redis and the services' /metrics are on the
	// internal network alone, with no published port.
	want := map[string]string{"krakend": "8080:8080", "streams": "8081:8081", "mysql": "127.0.0.1:3306:3306",
		"prometheus": "127.0.0.1:9090:9090", "grafana": "127.0.0.1:3000:3000", "zipkin": "127.0.0.1:9411:9411"}
	if !c.Networks["internal"].Internal {
		t.Error("the internal network is not internal: true")
	}
	for name, s := range c.Services {
		if got := strings.Join(s.Ports, " "); got != want[name] {
			t.Errorf("%s publishes %q, want %q", name, got, want[name])
		}
		if name != "agents" && !slices.Contains(s.Networks, "internal") {
			t.Errorf("%s is not on the internal network: %v", name, s.Networks)
		}
		if want[name] == "" && slices.Contains(s.Networks, "edge") && name != "agents" {
			t.Errorf("%s is on the edge network without a reason to be", name)
		}
	}
	// Connect reads the Debezium password from a file, and Redis has a password.
	connect := c.Services["connect-1"]
	if connect.Environment["CONNECT_CONFIG_PROVIDERS_FILE_CLASS"] != "org.apache.kafka.common.config.provider.FileConfigProvider" ||
		!slices.Contains(connect.Volumes, "./debezium/secrets.properties:/etc/connect/secrets.properties:ro") ||
		!strings.Contains(strings.Join(c.Services["connectors"].Command, " "), "database.password=$${file:/etc/connect/secrets.properties:debezium.password}") { // $$: compose writes one $
		t.Error("Kafka Connect does not read the Debezium password through its FileConfigProvider")
	}
	// Connect joins orders' traces as natively: OpenTelemetry's agent with its API bridge alone,
	// the API beside the connectors, spans to Zipkin, where the services send theirs too.
	opts := connect.Environment["KAFKA_OPTS"]
	for _, want := range []string{"-javaagent:/agent/opentelemetry-javaagent.jar", "-Dotel.instrumentation.common.default-enabled=false",
		"-Dotel.instrumentation.opentelemetry-api.enabled=true", "-Dotel.exporter.zipkin.endpoint=http://zipkin:9411/api/v2/spans"} {
		if !strings.Contains(opts, want) {
			t.Errorf("Connect's KAFKA_OPTS lack %s", want)
		}
	}
	if connect.Environment["ENABLE_OTEL"] != "true" || c.Services["store-manager"].Environment["OTEL_EXPORTER_ZIPKIN_ENDPOINT"] != "http://zipkin:9411/api/v2/spans" {
		t.Error("Connect has no OpenTelemetry API, or the services send their spans elsewhere than Zipkin")
	}
	if !strings.Contains(strings.Join(c.Services["redis"].Command, " "), "--requirepass") || c.Services["store-manager"].Environment["REDIS_PASSWORD"] == "" {
		t.Error("Redis has no password in compose")
	}

	// The same versions of Kafka and Debezium.
	kafkaVersion, debeziumVersion := stackVersions(t)
	for _, name := range []string{"kafka-1", "kafka-2", "kafka-3"} {
		if img := c.Services[name].Image; img != "apache/kafka:"+kafkaVersion {
			t.Errorf("%s image %s, want apache/kafka:%s", name, img, kafkaVersion)
		}
	}
	for _, name := range []string{"connect-1", "connect-2"} {
		if img := c.Services[name].Image; !strings.HasSuffix(img, "/debezium/connect:"+debeziumVersion) {
			t.Errorf("%s image %s, want Debezium %s", name, img, debeziumVersion)
		}
	}
	// The cluster: three copies of every topic, two in sync, on every node alike.
	for _, name := range []string{"kafka-1", "kafka-2", "kafka-3"} {
		env := c.Services[name].Environment
		if env["KAFKA_DEFAULT_REPLICATION_FACTOR"] != "3" || env["KAFKA_MIN_INSYNC_REPLICAS"] != "2" ||
			env["KAFKA_CONTROLLER_QUORUM_VOTERS"] != "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093" ||
			env["KAFKA_ADVERTISED_LISTENERS"] != "PLAINTEXT://"+name+":9092" {
			t.Errorf("%s is not a node of the three-node cluster: %v", name, env)
		}
	}
	// The streams KrakenD CE cannot carry are served beside it, as krakend.json declares them.
	streams, err := os.ReadFile("krakend/streams.nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	declared, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range declared.Endpoints {
		if e.Path != "/graphql/stream" {
			continue
		}
		b := e.Backends[0]
		if b.Hosts[0] != "http://store-manager:5000" || !strings.Contains(string(streams), "location = /graphql/stream") ||
			!strings.Contains(string(streams), "proxy_pass http://$backend"+b.URLPattern+";") || !strings.Contains(string(streams), "limit_except GET POST") {
			t.Errorf("krakend/streams.nginx.conf does not serve %s %s as krakend.json declares it", e.Method, e.Path)
		}
	}
	if img := c.Services["mysql"].Image; img != "mysql:8.4" {
		t.Errorf("mysql image %s, want mysql:8.4", img)
	}

	// The same krakend.json, whose backend hosts are the compose services.
	kd := c.Services["krakend"]
	if kd.Image != "krakend:2.13" || !slices.Contains(kd.Volumes, "./krakend/krakend.json:/etc/krakend/krakend.json:ro") {
		t.Errorf("krakend service: image %s volumes %v", kd.Image, kd.Volumes)
	}
	cfg, err := krakend.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cfg.Endpoints {
		u, err := url.Parse(e.Backends[0].Hosts[0])
		if err != nil || !svc(u.Hostname()) {
			t.Errorf("%s %s: backend %s is not a compose service", e.Method, e.Path, e.Backends[0].Hosts[0])
			continue
		}
		listen := c.Services[u.Hostname()].Environment
		if !slices.Contains([]string{listen["STORE_HTTP_ADDR"], listen["PAYMENTS_HTTP_ADDR"]}, ":"+u.Port()) {
			t.Errorf("%s does not listen on :%s", u.Hostname(), u.Port())
		}
	}

	// The same migrations, connector configs, accounts and seed, through storectl.
	wantCommand := map[string]string{
		"migrate":    "storectl migrate up",
		"connectors": "storectl connectors register",
		"seed":       "storectl seed",
	}
	for name, prefix := range wantCommand {
		s := c.Services[name]
		if !strings.HasPrefix(strings.Join(s.Command, " "), prefix) || s.Restart != "no" || s.Build != "." {
			t.Errorf("%s: command %v restart %q build %v, want a one-shot %q built from the repository", name, s.Command, s.Restart, s.Build, prefix)
		}
	}
	if !slices.Contains(c.Services["mysql"].Volumes, "./stack/conf/bootstrap.sql:/docker-entrypoint-initdb.d/bootstrap.sql:ro") {
		t.Error("mysql does not run the native stack's bootstrap.sql")
	}
	if link := c.Services["payments"].Environment["PAYMENT_LINK_BASE"]; !strings.Contains(link, "8080") {
		t.Errorf("payment links point at %q, not the gateway", link)
	}

	// Health checks and start order.
	for name, s := range c.Services {
		if s.Restart == "" && s.Healthcheck == nil && name != "krakend" {
			t.Errorf("%s has no health check", name)
		}
		for dep, d := range s.DependsOn {
			if !svc(dep) {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
			if d.Condition != "service_healthy" && d.Condition != "service_completed_successfully" {
				t.Errorf("%s waits for %s with condition %q", name, dep, d.Condition)
			}
		}
	}

	// The Dockerfile builds every binary the services run.
	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{"store-manager", "payments", "storectl"} {
		if !strings.Contains(string(dockerfile), "./cmd/"+bin) {
			t.Errorf("the Dockerfile does not build %s", bin)
		}
	}
}

// Prometheus under compose scrapes the same jobs as natively, with the same rules.
func TestComposePrometheusMatchesNative(t *testing.T) {
	jobs := func(path string) []string {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			RuleFiles     []string `yaml:"rule_files"`
			ScrapeConfigs []struct {
				JobName string `yaml:"job_name"`
			} `yaml:"scrape_configs"`
		}
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(cfg.RuleFiles) != 1 || !strings.HasSuffix(cfg.RuleFiles[0], "alerts.yml") {
			t.Errorf("%s: rule files %v, want the one alerts.yml", path, cfg.RuleFiles)
		}
		var out []string
		for _, s := range cfg.ScrapeConfigs {
			out = append(out, s.JobName)
		}
		slices.Sort(out)
		return out
	}
	native, compose := jobs("stack/conf/prometheus.yml"), jobs("stack/prometheus/prometheus-compose.yml")
	if !slices.Equal(native, compose) || len(native) == 0 {
		t.Errorf("scrape jobs differ: native %v, compose %v", native, compose)
	}
	c := loadCompose(t)
	if !slices.Contains(c.Services["prometheus"].Volumes, "./stack/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro") {
		t.Error("compose's Prometheus does not load stack/prometheus/alerts.yml")
	}
}
