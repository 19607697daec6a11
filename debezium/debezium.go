// Package debezium embeds the Kafka Connect configurations of the Debezium
// outbox connectors, one per service database.
package debezium

import "embed"

// Configs holds one <service>-outbox.json per service database, each in the
// Kafka Connect REST API's {"name", "config"} form.
//
//go:embed *.json
var Configs embed.FS
