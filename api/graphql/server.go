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
	"github.com/store-manager/store-manager/services/store"
)

// SupplierKeyHeader carries the supplier API key.
const SupplierKeyHeader = "X-Supplier-Key"

// LocalSupplierKey is the supplier key when none is configured: a LOCAL
// DEVELOPMENT DEFAULT, to be replaced by a secret anywhere else.
const LocalSupplierKey = "local-supplier-key"

// Options sets the limits and credentials of the GraphQL endpoint.
type Options struct {
	SupplierKey   string        // the key suppliers send to restock; empty refuses every mutation
	MaxComplexity int           // default 200
	Limits        Limits        // checked before validation; see Limits for the defaults
	Timeout       time.Duration // the server's own deadline for one request; default 4s
}

// browsing reports whether a person opened /graphql in a browser: a GET
// without a query that accepts HTML. They get GraphiQL to explore the
// schema; API clients are answered as before.
func browsing(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) && !req.URL.Query().Has("query") &&
		strings.Contains(req.Header.Get("Accept"), "text/html")
}

// NewHandler serves GraphQL over POST (and GET for queries) for r. Every
// request is bounded before gqlgen sees it (body, tokens, fields, fragment
// spreads, directives, depth), and runs under the request's context with a
// deadline, so a client that leaves or a slow request stops its work.
func NewHandler(r *Resolver, cfg Options) http.Handler {
	if cfg.MaxComplexity == 0 {
		cfg.MaxComplexity = 200
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 4 * time.Second
	}
	schema := NewExecutableSchema(Config{Resolvers: r})
	g := newGuard(cfg.Limits, schema.Schema())
	srv := handler.New(schema)
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetParserTokenLimit(g.limits.MaxTokens)
	srv.SetQueryCache(checkedDocuments{}) // the guard parses and validates
	srv.Use(extension.Introspection{})
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		slog.ErrorContext(ctx, "graphql resolver panic", "panic", v)
		return errors.New("internal error")
	})
	ide := playground.Handler("Store Manager GraphQL", "/graphql")
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if browsing(req) {
			ide.ServeHTTP(w, req)
			return
		}
		ctx, cancel := context.WithTimeout(req.Context(), cfg.Timeout)
		defer cancel()
		if req.Method == http.MethodHead { // answered as GET; the server sends no body
			req = req.Clone(req.Context())
			req.Method = http.MethodGet
		}
		params, err := g.read(w, req)
		var doc *ast.QueryDocument
		if err == nil {
			doc, err = g.check(ctx, req.Method, params.Query)
		}
		if err != nil {
			writeRequestError(w, err)
			return
		}
		auth := &authState{key: cfg.SupplierKey, sent: req.Header.Get(SupplierKeyHeader)}
		ctx = withChecked(context.WithValue(ctx, authKey{}, auth), params.Query, doc)
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
	})
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

type authKey struct{}

// authState records, per request, whether a resolver refused the supplier key.
type authState struct {
	key, sent string
	mu        sync.Mutex
	status    int
}

func (a *authState) failedStatus() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status
}

var (
	errUnauthenticated = errs.New(errs.Unauthorized, "a supplier API key is required: send it in the "+SupplierKeyHeader+" header")
	errForbidden       = errs.New(errs.Forbidden, "the supplier API key is not valid")
)

// requireSupplier lets the request through only with the supplier key.
func requireSupplier(ctx context.Context) error {
	a, _ := ctx.Value(authKey{}).(*authState)
	if a == nil {
		return errUnauthenticated
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.sent == "":
		a.status = http.StatusUnauthorized
		return errUnauthenticated
	case a.key == "" || subtle.ConstantTimeCompare([]byte(a.sent), []byte(a.key)) != 1:
		a.status = http.StatusForbidden
		return errForbidden
	}
	return nil
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
