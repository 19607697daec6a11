//go:build soak

package systemtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/testkit/systemkit"
)

// usage is what one service holds at a moment.
type usage struct {
	rssMB, goroutines, openConns, fds float64
}

// TestSoak places orders through the gateway at SOAK_RATE a second (50) for
// SOAK_DURATION (30m), and compares what each service holds after a minute
// of load with what it holds at the end: memory, goroutines, open database
// connections and file descriptors must not keep growing. Run by `make soak`
// against the running system; not part of `make test`.
func TestSoak(t *testing.T) {
	duration, err := time.ParseDuration(config.Env("SOAK_DURATION", "30m"))
	if err != nil {
		t.Fatal(err)
	}
	rate, err := strconv.Atoi(config.Env("SOAK_RATE", "50"))
	if err != nil || rate < 1 {
		t.Fatalf("SOAK_RATE: %v", err)
	}
	s := systemkit.New(t)
	user := s.User(t)
	var products []int64
	for range 20 {
		products = append(products, s.Product(t, "1.00", 1_000_000))
	}
	services := map[string]string{
		"store-manager": systemkit.Instance().StoreURL(),
		"payments":      systemkit.Instance().PaymentsURL(),
	}
	sample := func() map[string]usage {
		out := map[string]usage{}
		for name, url := range services {
			pid := systemkit.PidOf(t, name)
			m := systemkit.ScrapeAll(t, url+"/metrics")
			out[name] = usage{rssMB: systemkit.RSSMB(t, pid), goroutines: m["go_goroutines"], openConns: m["go_sql_open_connections"], fds: systemkit.FDCount(t, pid)}
		}
		return out
	}

	var accepted, refused, busy atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	go func() {
		slots := make(chan struct{}, 64) // bounded: a slow system gets fewer requests, not more goroutines
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			default:
				busy.Add(1)
				continue
			}
			wg.Add(1)
			go func(i int) {
				defer func() { <-slots; wg.Done() }()
				body := map[string]any{"user_id": user, "items": []any{map[string]any{"product_id": products[i%len(products)], "quantity": 1}}}
				if r, err := s.Store.Try("POST", "/orders", body); err == nil && r.Status == 201 {
					accepted.Add(1)
				} else {
					refused.Add(1)
				}
			}(i)
		}
	}()
	warmup := min(time.Minute, duration/2)
	time.Sleep(warmup)
	start := sample()
	time.Sleep(duration - warmup)
	end := sample()
	close(stop)
	wg.Wait()

	var report strings.Builder
	fmt.Fprintf(&report, "soak: %s at %d orders/s: %d accepted, %d refused, %d not sent (64 in flight)\n\n",
		duration, rate, accepted.Load(), refused.Load(), busy.Load())
	fmt.Fprintf(&report, "| service | RSS MB (%s → end) | goroutines | open DB connections | file descriptors |\n|---|---|---|---|---|\n", warmup)
	for _, name := range []string{"store-manager", "payments"} {
		a, b := start[name], end[name]
		fmt.Fprintf(&report, "| %s | %.1f → %.1f | %.0f → %.0f | %.0f → %.0f | %.0f → %.0f |\n",
			name, a.rssMB, b.rssMB, a.goroutines, b.goroutines, a.openConns, b.openConns, a.fds, b.fds)
		// Bounds a leak would cross in half an hour, loose enough for a
		// garbage collector's and a pool's ordinary swings.
		if b.rssMB > 2*a.rssMB+32 {
			t.Errorf("%s: RSS grew from %.1f to %.1f MB", name, a.rssMB, b.rssMB)
		}
		if b.goroutines > a.goroutines+64 {
			t.Errorf("%s: goroutines grew from %.0f to %.0f", name, a.goroutines, b.goroutines)
		}
		if b.openConns > a.openConns+16 {
			t.Errorf("%s: open DB connections grew from %.0f to %.0f", name, a.openConns, b.openConns)
		}
		if b.fds > a.fds+64 {
			t.Errorf("%s: file descriptors grew from %.0f to %.0f", name, a.fds, b.fds)
		}
	}
	if accepted.Load() == 0 {
		t.Error("no order was accepted")
	}
	t.Log("\n" + report.String())
	state := config.Env("STATE", filepath.Join("..", "..", ".state"))
	if err := os.WriteFile(filepath.Join(state, "soak.md"), []byte(report.String()), 0o644); err != nil {
		t.Error(err)
	}
}
