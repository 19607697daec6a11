package graphql

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/store-manager/store-manager/services/platform/errs"
	"github.com/store-manager/store-manager/services/platform/ids"
	"github.com/store-manager/store-manager/services/platform/server"
	"github.com/store-manager/store-manager/services/store"
)

// SupplierKeyHeader carries the supplier API key.
const SupplierKeyHeader = "X-Supplier-Key"

// LocalSupplierKey is the supplier key when none is configured: a LOCAL
// DEVELOPMENT DEFAULT, to be replaced by a secret anywhere else.
const LocalSupplierKey = "local-supplier-key"

// Supplier is a supplier and the key it sends.
type Supplier struct {
	Name string // names the supplier in its restocks and its subscriptions
	Key  string
}

// DefaultSupplier names the supplier of Options.SupplierKey.
const DefaultSupplier = "default"

// Options sets the limits, credentials and query mode of the GraphQL endpoint.
type Options struct {
	SupplierKey   string        // the key of the one supplier DefaultSupplier, when Suppliers is empty
	Suppliers     []Supplier    // the suppliers; none (and no SupplierKey) refuses what needs a supplier
	MaxComplexity int           // default 200
	Limits        Limits        // checked before validation; see Limits for the defaults
	Timeout       time.Duration // the server's own deadline for one request (not a subscription); default 4s
	Queries       QueryMode     // which queries run; default QueriesOpen
	Manifest      *Manifest     // the registered queries; default the committed manifest
	MaxStreams    int           // WebSocket and SSE connections held at once; default 500
}

// browsing reports whether a person opened /graphql in a browser: a GET
// without a query that accepts HTML. They get GraphiQL to explore the
// schema; API clients are answered as before.
func browsing(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) && !req.URL.Query().Has("query") &&
		strings.Contains(req.Header.Get("Accept"), "text/html")
}

// NewHandler serves GraphQL over POST (and GET for queries) for r, and
// subscriptions over WebSocket (graphql-transport-ws, and the older
// graphql-ws) and server-sent events. Every query is bounded before gqlgen
// parses it (body, tokens, fields, fragment spreads, directives, depth),
// and, in allowlist mode, must be registered; a request runs under its
// context with a deadline, so a client that leaves or a slow request stops
// its work. Streams are bounded in number, and their subscriptions by the
// feed.
func NewHandler(r *Resolver, cfg Options) (http.Handler, error) {
	if cfg.MaxComplexity == 0 {
		cfg.MaxComplexity = 200
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 4 * time.Second
	}
	if cfg.MaxStreams == 0 {
		cfg.MaxStreams = 500
	}
	if len(cfg.Suppliers) == 0 && cfg.SupplierKey != "" {
		cfg.Suppliers = []Supplier{{Name: DefaultSupplier, Key: cfg.SupplierKey}}
	}
	manifest := cfg.Manifest
	if manifest == nil {
		m, err := CommittedManifest()
		if err != nil {
			return nil, err
		}
		manifest = &m
	}
	pol, err := newPolicy(cfg.Queries, *manifest)
	if err != nil {
		return nil, err
	}
	schema := NewExecutableSchema(Config{Resolvers: r})
	g := newGuard(cfg.Limits, schema.Schema())
	srv := handler.New(schema)
	srv.AddTransport(transport.Websocket{
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			return initStream(ctx, p, cfg.Suppliers)
		},
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: 20 * time.Second,
		PayloadReadLimit:      &g.limits.MaxBodyBytes, // a message is bounded as a request's body is
	})
	srv.AddTransport(transport.SSE{KeepAlivePingInterval: 20 * time.Second})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetParserTokenLimit(g.limits.MaxTokens)
	srv.SetQueryCache(checkedDocuments{g}) // the guard parses and validates
	admission := gate{g: g, p: pol}
	srv.Use(streamGuard{admission}) // a WebSocket's operations, before APQ's
	if pol.mode == QueriesOpen {
		srv.Use(extension.AutomaticPersistedQuery{Cache: pol.apq})
	}
	srv.Use(extension.Introspection{})
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		return next(withLoaders(ctx, r.Store))
	})
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		slog.ErrorContext(ctx, "graphql resolver panic", "panic", v)
		return errors.New("internal error")
	})
	ide := playground.Handler("Store Manager GraphQL", "/graphql")
	streams := make(chan struct{}, cfg.MaxStreams)
	// prepare reads a request and admits its query.
	prepare := func(ctx context.Context, w http.ResponseWriter, req *http.Request) (request, *ast.QueryDocument, error) {
		params, err := g.read(w, req)
		if err != nil {
			return params, nil, err
		}
		var doc *ast.QueryDocument
		params.Query, doc, err = admission.admit(ctx, req.Method, params.Query, params.extensions())
		return params, doc, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if browsing(req) {
			ide.ServeHTTP(w, req)
			return
		}
		auth := newRequestState(cfg.Suppliers, req)
		if server.Streaming(req) { // a subscription's stream
			if _, err := auth.supplier(); err != nil && req.Method == http.MethodPost {
				// Every subscription needs a supplier: events are refused before they start
				// (a WebSocket sends its key after it opens, and is refused then).
				status, code, msg, _ := errs.Public(err)
				writeRequestError(w, refuse(status, code, "%s", msg))
				return
			}
			select {
			case streams <- struct{}{}:
				defer func() { <-streams }()
			default:
				writeRequestError(w, refuse(http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "the server holds %d streams, its most: retry later", cfg.MaxStreams))
				return
			}
			// A stream lives past the server's read and write timeouts, which bound requests.
			rc := http.NewResponseController(w)
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
			w.Header().Set("X-Accel-Buffering", "no") // a proxy passes events on as they come
			ctx := context.WithValue(req.Context(), requestKey{}, auth)
			if req.Method == http.MethodPost { // server-sent events: the query is checked as any POST's
				check, cancel := context.WithTimeout(ctx, cfg.Timeout)
				params, doc, err := prepare(check, w, req)
				cancel()
				if err != nil {
					writeRequestError(w, err)
					return
				}
				srv.ServeHTTP(w, forward(req.WithContext(withChecked(ctx, params.Query, doc)), params))
				return
			}
			srv.ServeHTTP(w, req.WithContext(ctx)) // a WebSocket: streamGuard checks each operation
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), cfg.Timeout)
		defer cancel()
		if req.Method == http.MethodHead { // answered as GET; the server sends no body
			req = req.Clone(req.Context())
			req.Method = http.MethodGet
		}
		params, doc, err := prepare(ctx, w, req)
		if err != nil {
			writeRequestError(w, err)
			return
		}
		ctx = withChecked(context.WithValue(ctx, requestKey{}, auth), params.Query, doc)
		buf := &bufferedResponse{header: w.Header()}
		srv.ServeHTTP(buf, forward(req.WithContext(ctx), params))
		if ctx.Err() != nil {
			writeRequestError(w, refuse(http.StatusServiceUnavailable, "TIMEOUT", "the request ran out of time"))
			return
		}
		status := buf.status
		if s := auth.failedStatus(); s != 0 {
			status = s // a refused mutation is refused at the HTTP level too
		}
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(buf.body.Bytes())
	}), nil
}

// bufferedResponse holds the GraphQL response until the auth outcome is known.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }

type requestKey struct{}

// requestState holds, per request, the supplier key sent and the request's
// idempotency key, and records whether a resolver refused the supplier key:
// the request is refused at the HTTP level too. Other resolver errors are
// field errors, answered 200 with their code, as GraphQL over HTTP does.
type requestState struct {
	suppliers      []Supplier
	sent           string
	idempotencyKey string
	mu             sync.Mutex
	status         int
}

func newRequestState(suppliers []Supplier, req *http.Request) *requestState {
	return &requestState{suppliers: suppliers, sent: req.Header.Get(SupplierKeyHeader), idempotencyKey: req.Header.Get(IdempotencyKeyHeader)}
}

func requestFrom(ctx context.Context) *requestState {
	a, _ := ctx.Value(requestKey{}).(*requestState)
	return a
}

// supplier is the supplier whose key was sent, comparing every key in
// constant time.
func (a *requestState) supplier() (string, error) {
	if a.sent == "" {
		return "", errUnauthenticated
	}
	name := ""
	for _, s := range a.suppliers {
		if s.Key != "" && subtle.ConstantTimeCompare([]byte(a.sent), []byte(s.Key)) == 1 {
			name = s.Name
		}
	}
	if name == "" {
		return "", errForbidden
	}
	return name, nil
}

// initStream authenticates a WebSocket at its connection_init: the
// supplier key comes in the payload (as supplierKey, or under the header's
// name), or else in the upgrade request's header.
func initStream(ctx context.Context, p transport.InitPayload, suppliers []Supplier) (context.Context, *transport.InitPayload, error) {
	a := &requestState{suppliers: suppliers}
	if prev := requestFrom(ctx); prev != nil {
		a.sent = prev.sent
	}
	for _, k := range []string{"supplierKey", SupplierKeyHeader} {
		if v := p.GetString(k); v != "" {
			a.sent = v
		}
	}
	if _, err := a.supplier(); err != nil {
		return ctx, nil, err
	}
	return context.WithValue(ctx, requestKey{}, a), nil, nil
}

func (a *requestState) failedStatus() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

var (
	errUnauthenticated = errs.New(errs.Unauthorized, "a supplier API key is required: send it in the "+SupplierKeyHeader+" header")
	errForbidden       = errs.New(errs.Forbidden, "the supplier API key is not valid")
)

// requireSupplier lets the request through only with a supplier's key, and
// names the supplier.
func requireSupplier(ctx context.Context) (string, error) {
	a := requestFrom(ctx)
	if a == nil {
		return "", errUnauthenticated
	}
	name, err := a.supplier()
	if err != nil {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.status, _ = errs.HTTPStatus(err)
	}
	return name, err
}

// presentError shows clients the message and code of errors of a kind
// (errs' table) and of gqlgen's own validation errors, and nothing of the
// others, which are logged as server faults.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	if _, code, msg, known := errs.Public(err); known {
		switch code {
		case "TIMEOUT":
			gerr.Message = "the request ran out of time"
		case "UNAVAILABLE":
			gerr.Message = msg
		}
		gerr.Extensions = map[string]any{"code": code}
		return gerr
	}
	var own *gqlerror.Error
	if errors.As(err, &own) && errors.Unwrap(err) == nil {
		return gerr // gqlgen's own validation and parsing errors: safe to show as they are
	}
	slog.ErrorContext(ctx, "graphql request failed", "err", err)
	gerr.Message = "internal error"
	gerr.Extensions = map[string]any{"code": "INTERNAL"}
	return gerr
}

func invalidArg(msg string) error { return errs.Errorf(errs.Invalid, "%s", msg) }

func parseID(name, s string) (int64, error) {
	id, ok := ids.Parse(s)
	if !ok {
		return 0, invalidArg(name + " must be a positive integer written without sign, leading zero or spaces")
	}
	return id, nil
}

func pageSize(first *int, def int) (int, error) {
	if first == nil {
		return def, nil
	}
	if *first < 1 || *first > store.MaxReportLimit {
		return 0, invalidArg("first must be between 1 and " + strconv.Itoa(store.MaxReportLimit))
	}
	return *first, nil
}

// nullIfNotFound turns a missing product into a null result, as the original did.
func nullIfNotFound(p store.Product, err error) (*Product, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return newProduct(p), nil
}

func newProduct(p store.Product) *Product {
	return &Product{ID: strconv.FormatInt(p.ID, 10), Name: p.Name, Sku: p.SKU, Price: Decimal(p.Price), Quantity: int(p.Quantity)}
}

func newProducts(list []store.Product) []*Product {
	out := make([]*Product, len(list))
	for i, p := range list {
		out[i] = newProduct(p)
	}
	return out
}
