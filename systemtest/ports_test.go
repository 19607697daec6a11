package systemtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/testkit/stacktest"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// Natively, every part of the system listens on loopback only, the
// gateway included: MariaDB, Redis, Kafka and its controller, Kafka Connect
// (whose REST API shows the Debezium password), the services with their
// /metrics and /ready, the supervisor, Prometheus, the exporters and the
// JMX agents. Each port that listens does so on 127.0.0.1 or ::1 alone.
func TestEveryPortListensOnLoopbackOnly(t *testing.T) {
	stacktest.Stack(t)
	var ports []int
	for _, p := range config.InfraPorts {
		ports = append(ports, systemkit.Instance().Port(p.Var))
	}
	for _, addr := range []string{systemkit.GatewayURL(), systemkit.Instance().StoreURL(), systemkit.Instance().PaymentsURL()} {
		p, err := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	listening := listeners(t)
	for _, port := range ports {
		hosts := listening[port]
		if len(hosts) == 0 {
			t.Errorf("nothing listens on port %d", port)
		}
		for _, h := range hosts {
			if h != "127.0.0.1" && h != "::1" {
				t.Errorf("port %d listens on %s: beyond this machine", port, h)
			}
		}
	}
}

// listeners reads the kernel's table of listening TCP sockets: the local
// addresses each port listens on.
func listeners(t *testing.T) map[int][]string {
	t.Helper()
	out := map[int][]string{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			hexAddr, hexPort, _ := strings.Cut(f[1], ":")
			port, _ := strconv.ParseInt(hexPort, 16, 32)
			out[int(port)] = append(out[int(port)], procAddr(hexAddr))
		}
	}
	return out
}

// procAddr reads an address as /proc/net writes it: little-endian words.
func procAddr(h string) string {
	switch h {
	case "0100007F", "0000000000000000FFFF00000100007F":
		return "127.0.0.1"
	case "00000000000000000000000001000000":
		return "::1"
	case "00000000", "00000000000000000000000000000000":
		return "every address"
	}
	return fmt.Sprintf("the address %s", h)
}
