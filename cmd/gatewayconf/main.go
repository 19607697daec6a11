// Command gatewayconf renders krakend/krakend.json as the nginx configuration
// of the native gateway.
//
//	gatewayconf -listen 127.0.0.1:8080 -state .state \
//	    -backend http://store-manager:5000=127.0.0.1:5000 -backend http://store-manager:5000=127.0.0.1:5200 \
//	    -backend http://payments:5009=127.0.0.1:5009 > nginx.conf
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/store-manager/store-manager/krakend"
	platformconfig "github.com/store-manager/store-manager/services/platform/config"
)

// backends maps each backend host of krakend.json to the addresses of its replicas.
type backends map[string][]string

func (b backends) String() string { return fmt.Sprint(map[string][]string(b)) }

func (b backends) Set(v string) error {
	host, addr, ok := strings.Cut(v, "=")
	if !ok || host == "" || addr == "" {
		return fmt.Errorf("want HOST_URL=ADDRESS:PORT, got %q", v)
	}
	b[host] = append(b[host], addr)
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gatewayconf:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gatewayconf", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address the gateway listens on")
	state := fs.String("state", ".state", "state folder for the pid, temp files and logs")
	config := fs.String("config", "", "krakend.json to read (default: the committed one)")
	name := fs.String("name", "gateway", "the gateway's name: its pid, log and temp files are named after it")
	bs := backends{}
	fs.Var(bs, "backend", "HOST_URL=ADDRESS:PORT: where a backend host of krakend.json is reached (repeat it for each replica)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Employee auth off (EMPLOYEE_AUTH) is for the original's labs on a
	// loopback-only stack, never behind a gateway others can reach.
	var r platformconfig.Reader
	if !r.Bool("EMPLOYEE_AUTH", true) && !platformconfig.Loopback(*listen) {
		return fmt.Errorf("EMPLOYEE_AUTH=off is allowed only with a loopback listen address, not %q", *listen)
	}
	if err := r.Err(); err != nil {
		return err
	}
	var (
		cfg krakend.Config
		err error
	)
	if *config == "" {
		cfg, err = krakend.Default()
	} else {
		var f *os.File
		if f, err = os.Open(*config); err == nil {
			defer f.Close()
			cfg, err = krakend.Load(f)
		}
	}
	if err != nil {
		return err
	}
	out, err := cfg.Nginx(krakend.NginxOptions{Name: *name, Listen: *listen, StateDir: *state, Backends: bs})
	if err != nil {
		return err
	}
	_, err = os.Stdout.WriteString(out)
	return err
}
