package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/store-manager/store-manager/services/platform/config"
)

// instanceCmd answers the stack script and the Makefile with the instance's
// names and addresses, so that they are written once, in config.Instance.
func instanceCmd(inst config.Instance, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "env":
		if _, err := inst.Cluster(); err != nil {
			return err
		}
		for _, kv := range inst.Env() {
			fmt.Printf("export %s=%s\n", kv[0], shellQuote(kv[1]))
		}
		return nil
	case "addr":
		if len(args) != 3 {
			return errUsage
		}
		k, err := strconv.Atoi(args[2])
		if err != nil {
			return errUsage
		}
		addr, err := inst.ServiceAddr(args[1], k)
		if err != nil {
			return err
		}
		fmt.Println(addr)
		return nil
	case "process":
		switch len(args) {
		case 2:
			fmt.Println(inst.Process(args[1]))
		case 3:
			k, err := strconv.Atoi(args[2])
			if err != nil {
				return errUsage
			}
			fmt.Println(inst.Replica(args[1], k))
		default:
			return errUsage
		}
		return nil
	case "targets":
		if len(args) < 3 {
			return errUsage
		}
		return writeTargets(args[1], inst, args[2], args[3:])
	case "names":
		for _, name := range config.NamedInstances() {
			fmt.Println(name)
		}
		return nil
	case "urls":
		st := inst.Stack()
		fmt.Printf("  gateway        %s (routes and limits from krakend/krakend.json)\n", inst.GatewayURL())
		fmt.Printf("  console        %s/ops (operations: pipeline, Kafka, sagas, stock; any user, the operator key as password)\n", inst.GatewayURL())
		fmt.Printf("  GraphiQL       %s/graphql (in a browser)\n", inst.GatewayURL())
		fmt.Printf("  stock streams  %s/graphql/stream (suppliers: WebSocket or server-sent events; docs/suppliers.md)\n", inst.GatewayURL())
		fmt.Printf("  store-manager  %s (REST; GraphQL at /graphql; OpenAPI at /openapi.json)\n", inst.StoreURL())
		fmt.Printf("  payments       %s\n", inst.PaymentsURL())
		fmt.Printf("  supervisor     http://%s/metrics (connectors, canaries)\n", inst.SupervisorAddr())
		fmt.Printf("  MariaDB        127.0.0.1:%d (databases %s, %s)\n", inst.Port("MARIADB_PORT"), inst.Database("store"), inst.Database("payments"))
		fmt.Printf("  Redis          %s\n", st.RedisAddr)
		fmt.Printf("  Kafka          %s\n", st.KafkaBrokers)
		fmt.Printf("  Kafka Connect  %s (REST: GET /connectors)\n", st.ConnectURL)
		fmt.Printf("  Prometheus     %s (every part; alerts in stack/prometheus/alerts.yml)\n", inst.PrometheusURL())
		fmt.Printf("  Zipkin         %s/zipkin/ (traces: one per order, across both services, Debezium and Kafka)\n", inst.ZipkinURL())
		return nil
	}
	return errUsage
}

// writeTargets lists the addresses of an instance's component for
// Prometheus's file service discovery, in dir/<process>.json, labelled
// with the instance's namespace. The file is replaced whole.
func writeTargets(dir string, inst config.Instance, component string, addrs []string) error {
	labels := map[string]string{}
	if inst.Name != "" {
		labels["namespace"] = inst.Name
	}
	if addrs == nil {
		addrs = []string{}
	}
	body, err := json.Marshal([]map[string]any{{"labels": labels, "targets": addrs}})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	file := filepath.Join(dir, inst.Process(component)+".json")
	if err := os.WriteFile(file+".tmp", append(body, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(file+".tmp", file)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
