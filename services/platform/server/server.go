// Package server holds what the service binaries share: their process
// set-up, opening their database, and running an HTTP server beside Kafka
// consumers with a graceful shutdown.
package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"golang.org/x/sync/errgroup"

	"github.com/store-manager/store-manager/services/platform/config"
	"github.com/store-manager/store-manager/services/platform/tracing"
)

// DefaultGCPercent is the services' garbage collection target when GOGC is
// not set: the heap may grow to 1.5 times what is live after a collection,
// instead of Go's default of twice. What a service keeps live is small and
// mostly its connections' buffers, so the default made its heap twice
// that: at 50, store-manager's resident memory in saga runs of 400 and 800
// orders a second was 4-7 MB lower, for more frequent, shorter collections.
const DefaultGCPercent = 50

// Main runs a service's run function with JSON logs at the level LOG_LEVEL
// names (default INFO), each line written in a span carrying its trace and
// span ids, and with its spans sent as the OTEL_* variables say
// (tracing.LoadConfig), until SIGINT or SIGTERM; it exits 1 when it fails.
// Its garbage collector runs at DefaultGCPercent unless GOGC says otherwise.
// A configuration error (cfgErr, a LOG_LEVEL that names no level, or a
// tracing setting) stops it at once with exit status 2, naming every
// setting that is wrong.
func Main(name string, cfgErr error, run func(ctx context.Context, log *slog.Logger) error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(config.Env("LOG_LEVEL", "INFO"))); err != nil {
		cfgErr = errors.Join(cfgErr, fmt.Errorf("LOG_LEVEL must be DEBUG, INFO, WARN or ERROR, not %q", os.Getenv("LOG_LEVEL")))
	}
	var r config.Reader
	traces := tracing.LoadConfig(&r, r.Instance().ZipkinSpansURL())
	if cfgErr = errors.Join(cfgErr, r.Err()); cfgErr != nil {
		fmt.Fprintf(os.Stderr, "%s: bad configuration:\n%v\n", name, cfgErr)
		os.Exit(2)
	}
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	slog.SetDefault(log)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if addr := os.Getenv("PPROF_ADDR"); addr != "" {
		go serveProfiles(addr, log)
	}
	stopTracing, err := tracing.Setup(ctx, name, traces)
	if err == nil {
		err = run(ctx, log)
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if ferr := stopTracing(flushCtx); ferr != nil {
			log.Warn("spans not sent at shutdown", "err", ferr)
		}
	}
	if err != nil {
		log.Error(name+" stopped", "err", err)
		stop()
		os.Exit(1)
	}
}

// serveProfiles serves Go's profiles (net/http/pprof) on addr, for whoever
// measures the service: PPROF_ADDR turns it on, on a loopback address. Its
// log says where it listens (port 0 picks a free one).
func serveProfiles(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Error("profiles not served", "err", err)
		return
	}
	log.Info("profiles", "addr", ln.Addr().String())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if err := srv.Serve(ln); err != nil {
		log.Error("profiles stopped", "err", err)
	}
}

// OpenDB opens a pooled MySQL connection and checks that it reaches the server.
//
// Statements that are not prepared (those with a list of ids of any length)
// are interpolated by the driver, so each is one round trip instead of a
// prepare, an execute and a close.
func OpenDB(ctx context.Context, dsn string, maxConns int) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("database address: %w", err)
	}
	cfg.InterpolateParams = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxLifetime(30 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("reach database: %w", err)
	}
	return db, nil
}

// DefaultMaxInFlight is how many requests a service works on at once by
// default (MAX_IN_FLIGHT).
const DefaultMaxInFlight = 256

// requestsShed counts the requests a service refused because it was busy.
var requestsShed = promauto.NewCounter(prometheus.CounterOpts{
	Name: "http_requests_shed_total",
	Help: "Requests answered 503 at once because the service was working on as many as it may (MAX_IN_FLIGHT).",
})

// NewHTTP returns an HTTP server for handler with the timeouts every service
// uses, and the process's Prometheus metrics at /metrics (not published
// through the gateway). Every other request but health checks, streams
// and the reads tracing.TraceRequest leaves out is a server span, named by
// its route (httpkit names it), continuing the caller's trace when its
// traceparent header names one. It works on at most
// maxInFlight requests at once
// (DefaultMaxInFlight when 0) and answers the others 503 at once, with
// Retry-After, rather than queueing them in memory; /metrics, the health
// checks and streams (which have bounds of their own) are not counted.
func NewHTTP(addr string, handler http.Handler, maxInFlight int) *http.Server {
	if maxInFlight <= 0 {
		maxInFlight = DefaultMaxInFlight
	}
	metrics := promhttp.Handler()
	traced := otelhttp.NewHandler(handler, "HTTP", otelhttp.WithSpanNameFormatter(tracing.SpanName),
		otelhttp.WithFilter(func(r *http.Request) bool { return !unbounded(r) }))
	slots := make(chan struct{}, maxInFlight)
	withMetrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" && r.Method == http.MethodGet {
			metrics.ServeHTTP(w, r)
			return
		}
		if !unbounded(r) {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			default:
				requestsShed.Inc()
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte(`{"error":"the service is busy: retry in a second"}` + "\n"))
				return
			}
		}
		r, sampled := tracing.TraceRequest(r)
		if !sampled {
			handler.ServeHTTP(w, r)
			return
		}
		traced.ServeHTTP(w, tracing.WithRoute(r))
	})
	return &http.Server{
		Addr: addr, Handler: withMetrics,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
	}
}

// Streaming reports a request for a long-lived stream: a WebSocket upgrade,
// or a POST asking for server-sent events.
func Streaming(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		(r.Method == http.MethodPost && strings.Contains(r.Header.Get("Accept"), "text/event-stream"))
}

// unbounded are the requests the in-flight bound leaves alone: the health
// checks, which must answer while the service is busy, and streams, bounded
// where they are served.
func unbounded(r *http.Request) bool {
	return r.URL.Path == "/health-check" || r.URL.Path == "/ready" || Streaming(r)
}

// Run serves srv and runs each worker until ctx ends or one of them fails.
// Then it stops taking requests, finishes in-flight ones within
// shutdownTimeout, and waits for the workers (consumers commit their offsets
// as they stop).
func Run(ctx context.Context, log *slog.Logger, srv *http.Server, shutdownTimeout time.Duration, workers ...func(context.Context) error) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, w := range workers {
		g.Go(func() error { return w(gctx) })
	}
	g.Go(func() error {
		log.Info("listening", "addr", srv.Addr)
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("shutting down: finishing in-flight requests")
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	return g.Wait()
}
