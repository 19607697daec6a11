package connectors_test

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/store-manager/store-manager/debezium"
	"github.com/store-manager/store-manager/operations/connectors"
	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/testkit/stacktest"
)

func TestLoadProjectConfigs(t *testing.T) {
	all, err := connectors.Load(debezium.Configs)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("got %d connector configs, want one per service database (2)", len(all))
	}
	for _, c := range all {
		want := map[string]string{
			"transforms.outbox.type":                              "io.debezium.transforms.outbox.EventRouter",
			"transforms.outbox.table.field.event.key":             "aggregateid",
			"transforms.outbox.table.fields.additional.placement": "type:header:eventType",
			"transforms.outbox.table.expand.json.payload":         "false",
			"value.converter":                                     "org.apache.kafka.connect.storage.StringConverter",
			"transforms.outbox.route.by.field":                    "aggregatetype",
			"producer.override.linger.ms":                         "0",
		}
		for k, v := range want {
			if c.Config[k] != v {
				t.Errorf("%s: %s = %q, want %q", c.Name, k, c.Config[k], v)
			}
		}
	}
}

func TestLoadRejects(t *testing.T) {
	cases := map[string]string{
		"not json":       `{`,
		"missing name":   `{"config": {"a": "b"}}`,
		"missing config": `{"name": "x"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := connectors.Load(fstest.MapFS{"x.json": {Data: []byte(body)}})
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestOverridesApply(t *testing.T) {
	base := connectors.Connector{Name: "c", Config: map[string]string{
		"database.hostname": "127.0.0.1", "database.port": "3306",
		"schema.history.internal.kafka.bootstrap.servers": "127.0.0.1:9092",
	}}
	got := connectors.Overrides{ConnectorClass: "x.MySqlConnector", DatabaseHost: "mysql", KafkaBrokers: "kafka:9092",
		Set: map[string]string{"driver.allowPublicKeyRetrieval": "true"}}.Apply(base)
	if got.Config["database.hostname"] != "mysql" || got.Config["connector.class"] != "x.MySqlConnector" ||
		got.Config["driver.allowPublicKeyRetrieval"] != "true" || got.Config["database.port"] != "3306" ||
		got.Config["schema.history.internal.kafka.bootstrap.servers"] != "kafka:9092" {
		t.Fatalf("overrides not applied as asked: %v", got.Config)
	}
	if base.Config["database.hostname"] != "127.0.0.1" {
		t.Fatal("Apply changed its input")
	}
}

// Registering again updates in place, and every connector and task of the
// stack's instance runs.
func TestConnectorsRunning(t *testing.T) {
	st := stacktest.Stack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all, err := connectors.ForStack(st)
	if err != nil {
		t.Fatal(err)
	}
	client := connectors.NewClient(st.ConnectURL)
	for _, c := range all {
		if err := client.Register(ctx, c); err != nil {
			t.Fatalf("register %s again: %v", c.Name, err)
		}
	}
	for _, c := range all {
		s, err := client.WaitRunning(ctx, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Tasks) != 1 {
			t.Errorf("%s has %d tasks, want 1", c.Name, len(s.Tasks))
		}
	}
}

// A connector in a namespace captures the namespace's database and routes to
// the namespace's topics, under names that cannot clash with the default one.
func TestInNamespace(t *testing.T) {
	all, err := connectors.Load(debezium.Configs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		same, err := connectors.InNamespace(c, "", "ignored")
		if err != nil || same.Name != c.Name || same.Config["database.include.list"] != c.Config["database.include.list"] {
			t.Fatalf("the default namespace changed %s: %+v %v", c.Name, same, err)
		}
		n, err := connectors.InNamespace(c, "test", "store_test")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"database.include.list":                     "store_test",
			"table.include.list":                        "store_test.outbox",
			"transforms.outbox.route.topic.replacement": "test.${routedByValue}",
		}
		for k, v := range want {
			if n.Config[k] != v {
				t.Errorf("%s %s = %q, want %q", c.Name, k, n.Config[k], v)
			}
		}
		if n.Name == c.Name || n.Config["database.server.id"] == c.Config["database.server.id"] ||
			n.Config["schema.history.internal.kafka.topic"] == c.Config["schema.history.internal.kafka.topic"] {
			t.Errorf("%s in a namespace shares a name, server id or history topic with the default: %+v", c.Name, n)
		}
	}
}

// Each connector reads its service's database on the server its DSN names
// and keeps its schema history on the stack's brokers, in the namespace's names.
func TestForStackFollowsTheInstance(t *testing.T) {
	st := config.Stack{
		StoreDSN:     "store:store@tcp(127.0.0.1:3406)/store_test?parseTime=true",
		PaymentsDSN:  "payments:payments@tcp(127.0.0.1:3406)/payments_test?parseTime=true",
		KafkaBrokers: "127.0.0.1:9192",
		Namespace:    "test",
	}
	all, err := connectors.ForStack(st)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{connectors.StoreOutbox: "store_test", connectors.PaymentsOutbox: "payments_test"}
	for _, c := range all {
		got := []string{c.Name, c.Config["database.hostname"], c.Config["database.port"], c.Config["database.include.list"],
			c.Config["schema.history.internal.kafka.bootstrap.servers"]}
		exp := []string{"test-" + c.Base, "127.0.0.1", "3406", want[c.Base], "127.0.0.1:9192"}
		if !slices.Equal(got, exp) {
			t.Errorf("%s: got %q, want %q", c.Base, got, exp)
		}
	}
	if len(all) != len(want) {
		t.Errorf("%d connectors, want %d", len(all), len(want))
	}
}
