package stacktest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	driver "github.com/go-sql-driver/mysql"
	"github.com/google/uuid"

	"github.com/store-manager/store-manager/debezium"
	"github.com/store-manager/store-manager/operations/connectors"
)

// CapturedDatabase creates a migrated scratch database for service and a
// Debezium connector of its own that relays the database's outbox to Kafka,
// configured as the stack's connector for the service is, in a namespace
// named after the database; both go when the test ends. It returns the
// database and the prefix of its topics once an event written to the outbox
// has reached Kafka, so the connector captures everything the test writes
// after.
func CapturedDatabase(t testing.TB, service string) (db *sql.DB, topicPrefix string) {
	t.Helper()
	st := Stack(t)
	dsn := MigratedDatabase(t, service)
	cfg, err := driver.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.DBName
	if _, err := Open(t, st.AdminDSN).Exec("GRANT SELECT ON " + name + ".* TO 'debezium'@'%'"); err != nil {
		t.Fatalf("let Debezium read %s: %v", name, err)
	}
	all, err := connectors.Load(debezium.Configs)
	if err != nil {
		t.Fatal(err)
	}
	var conn connectors.Connector
	for _, c := range all {
		if c.Base == service+"-outbox" {
			conn = c
		}
	}
	if conn.Name == "" {
		t.Fatalf("no connector configured for %s", service)
	}
	if conn, err = connectors.Capturing(conn, name, dsn, st.KafkaBrokers); err != nil {
		t.Fatal(err)
	}
	// Scratch connectors may run side by side: each needs a server id of its own.
	conn = connectors.Overrides{Set: map[string]string{"database.server.id": fmt.Sprint(10000 + rand.IntN(50000))}}.Apply(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	client := connectors.NewClient(st.ConnectURL)
	if err := client.Register(ctx, conn); err != nil {
		t.Fatalf("register a connector for %s: %v", name, err)
	}
	t.Cleanup(func() { _ = client.Delete(context.Background(), conn.Name) })
	if _, err := client.WaitRunning(ctx, conn.Name); err != nil {
		t.Fatalf("connector for %s: %v", name, err)
	}
	db = Open(t, dsn)
	topicPrefix = name + "."
	awaitCapture(ctx, t, st.KafkaBrokers, db, topicPrefix)
	return db, topicPrefix
}

// awaitCapture writes canary events to db's outbox until one reaches Kafka.
func awaitCapture(ctx context.Context, t testing.TB, brokers string, db *sql.DB, topicPrefix string) {
	t.Helper()
	const aggregate = "canary"
	topic := topicPrefix + aggregate
	c, err := kafka.NewConsumer(&kafka.ConfigMap{
		"bootstrap.servers": brokers, "group.id": topic, "auto.offset.reset": "earliest",
		"topic.metadata.refresh.interval.ms": 250, "enable.auto.commit": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(topic, nil); err != nil {
		t.Fatal(err)
	}
	for next := time.Now(); ; {
		if ctx.Err() != nil {
			t.Fatalf("the connector for %s captured nothing in time", topicPrefix)
		}
		if time.Now().After(next) {
			_, err := db.ExecContext(ctx, `INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload) VALUES (?, ?, 'canary', 'Canary', '{}')`,
				uuid.NewString(), aggregate)
			if err != nil {
				t.Fatal(err)
			}
			next = time.Now().Add(time.Second)
		}
		if _, err := c.ReadMessage(200 * time.Millisecond); err == nil {
			return
		}
	}
}
