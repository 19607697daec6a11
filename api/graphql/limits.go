package graphql

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Limits bound what one GraphQL request may cost, checked before the
// document is validated or executed: validation walks every fragment spread
// and compares every pair of fields of every definition, used or not, so an
// unchecked 1 KB document can cost seconds of CPU.
type Limits struct {
	MaxBodyBytes  int64 // request body; default 64 KiB
	MaxTokens     int   // tokens the parser reads; default 5000
	MaxFields     int   // fields once every fragment is expanded (every fragment must be used, so this counts every field written); default 250
	MaxSpreads    int   // fragment spreads written in the document; default 64
	MaxDirectives int   // directives written in the document; default 32
	MaxDepth      int   // nesting of data fields; default 6
	MaxIntroDepth int   // nesting inside __schema and __type; default 15
}

func (l *Limits) setDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = 64 << 10
	}
	def(&l.MaxTokens, 5000)
	def(&l.MaxFields, 250)
	def(&l.MaxSpreads, 64)
	def(&l.MaxDirectives, 32)
	def(&l.MaxDepth, 6)
	def(&l.MaxIntroDepth, 15)
}

// request is a GraphQL request as the transports read it.
type request struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName,omitempty"`
	Variables     json.RawMessage `json:"variables,omitempty"`
	Extensions    json.RawMessage `json:"extensions,omitempty"`
}

// requestError is a request refused before gqlgen sees it.
type requestError struct {
	status int
	code   string
	msg    string
	list   gqlerror.List // validation's own errors, answered as they are
}

func (e *requestError) Error() string { return e.msg }

func refuse(status int, code, format string, args ...any) error {
	return &requestError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// writeRequestError answers a refused request in GraphQL's error shape.
func writeRequestError(w http.ResponseWriter, err error) {
	var re *requestError
	if !errors.As(err, &re) {
		re = &requestError{status: http.StatusBadRequest, code: "BAD_REQUEST", msg: "the request could not be read"}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(re.status)
	var list any = []map[string]any{{"message": re.msg, "extensions": map[string]any{"code": re.code}}}
	if re.list != nil {
		list = re.list
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": list, "data": nil})
}

// guard reads requests, checks them against the limits and validates them
// against the schema, all under the request's context. It caches the verdict
// on each distinct query under the query's hash, never its text, so a
// repeated query is checked once and refused queries hold no memory.
type guard struct {
	limits  Limits
	schema  *ast.Schema
	checked *lru.Cache[[sha256.Size]byte, verdict]
}

// verdict is what checking one query found.
type verdict struct {
	err      error
	mutation bool               // the document holds a mutation, which GET cannot carry
	doc      *ast.QueryDocument // the validated document; kept only for short queries
}

// maxCachedQuery is the longest query whose validated document is cached:
// a document holds its source text, so longer ones are checked again.
const maxCachedQuery = 4 << 10

func newGuard(l Limits, schema *ast.Schema) *guard {
	l.setDefaults()
	checked, _ := lru.New[[sha256.Size]byte, verdict](1000) // only a size below 1 fails
	return &guard{limits: l, schema: schema, checked: checked}
}

// jsonMediaTypes are the request types GraphQL over HTTP allows for POST.
// Anything else (a form, text/plain) is refused, so a web page cannot send
// a query without the browser's CORS preflight.
var jsonMediaTypes = map[string]bool{"application/json": true, "application/graphql+json": true}

// read returns the request's GraphQL parameters, from a POST body of at most
// MaxBodyBytes or a GET's query string. "variables" may be null or "" (what
// the original's clients send when there are none), or an object.
func (g *guard) read(w http.ResponseWriter, r *http.Request) (request, error) {
	var req request
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		req = request{Query: q.Get("query"), OperationName: q.Get("operationName")}
		if v := q.Get("variables"); v != "" {
			req.Variables = json.RawMessage(v)
		}
		if e := q.Get("extensions"); e != "" {
			req.Extensions = json.RawMessage(e)
		}
	case http.MethodPost:
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || !jsonMediaTypes[mt] {
			return req, refuse(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "a GraphQL POST is sent as application/json")
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.limits.MaxBodyBytes))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, refuse(http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "the request body is over %d bytes", g.limits.MaxBodyBytes)
		}
		if err != nil {
			return req, refuse(http.StatusBadRequest, "BAD_REQUEST", "the request body could not be read")
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return req, refuse(http.StatusBadRequest, "BAD_REQUEST", "the body must be a JSON object with a string \"query\"")
		}
	default:
		return req, refuse(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "GraphQL is served over GET and POST")
	}
	v := bytes.TrimSpace(req.Variables)
	switch {
	case len(v) == 0, string(v) == "null", string(v) == `""`:
		req.Variables = nil
	case v[0] != '{' || !json.Valid(v):
		return req, refuse(http.StatusBadRequest, "BAD_REQUEST", "variables must be a JSON object")
	}
	if e := bytes.TrimSpace(req.Extensions); len(e) > 0 && string(e) != "null" && (e[0] != '{' || !json.Valid(e)) {
		return req, refuse(http.StatusBadRequest, "BAD_REQUEST", "extensions must be a JSON object")
	}
	return req, nil
}

// extensions is the request's extensions object, read (it is valid JSON).
func (r request) extensions() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Extensions, &m) // checked by read; null or absent is none
	return m
}

// check parses, measures and validates a request's query and returns its
// document. Validation stops when ctx ends (the deadline, or the client left).
func (g *guard) check(ctx context.Context, method, query string) (*ast.QueryDocument, error) {
	key := sha256.Sum256([]byte(query))
	v, ok := g.checked.Get(key)
	if !ok || (v.err == nil && v.doc == nil) {
		v = g.judge(ctx, query)
		if ctx.Err() != nil {
			return nil, refuse(http.StatusServiceUnavailable, "TIMEOUT", "the request ran out of time")
		}
		cached := v
		if len(query) > maxCachedQuery {
			cached.doc = nil
		}
		g.checked.Add(key, cached)
	}
	if v.err == nil && v.mutation && method != http.MethodPost {
		return nil, refuse(http.StatusBadRequest, "BAD_REQUEST", "mutations are sent with POST")
	}
	return v.doc, v.err
}

// judge parses, measures and validates query.
func (g *guard) judge(ctx context.Context, query string) verdict {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, g.limits.MaxTokens)
	if err != nil {
		if strings.Contains(err.Error(), "token limit") {
			return verdict{err: refuse(http.StatusBadRequest, "QUERY_TOO_LARGE", "the query is over %d tokens", g.limits.MaxTokens)}
		}
		return verdict{err: refuse(http.StatusBadRequest, "GRAPHQL_PARSE_FAILED", "%s", err.Error())}
	}
	if len(doc.Operations) == 0 {
		return verdict{err: refuse(http.StatusUnprocessableEntity, "GRAPHQL_VALIDATION_FAILED", "the document has no operation")}
	}
	if err := g.measure(doc); err != nil {
		return verdict{err: err}
	}
	if err := validate(ctx, g.schema, doc); err != nil {
		return verdict{err: err}
	}
	v := verdict{doc: doc}
	for _, op := range doc.Operations {
		v.mutation = v.mutation || op.Operation == ast.Mutation
	}
	return v
}

// measure refuses a parsed document that asks for too much, counting every
// definition it holds: a fragment defined twice, or never used, is refused
// here, since validation would compare its fields all the same.
func (g *guard) measure(doc *ast.QueryDocument) error {
	l := g.limits
	m := &meter{fragments: map[string]*ast.FragmentDefinition{}, memo: map[fragmentKey]cost{}, visiting: map[fragmentKey]bool{}}
	for _, f := range doc.Fragments {
		if m.fragments[f.Name] != nil {
			return refuse(http.StatusUnprocessableEntity, "GRAPHQL_VALIDATION_FAILED", "there can be only one fragment named %q", f.Name)
		}
		m.fragments[f.Name] = f
	}
	var total cost
	for _, op := range doc.Operations {
		m.directives += len(op.Directives)
		total = total.merge(m.set(op.SelectionSet, false))
	}
	for _, f := range doc.Fragments {
		if _, used := m.memo[fragmentKey{f.Name, false}]; !used {
			if _, used = m.memo[fragmentKey{f.Name, true}]; !used {
				return refuse(http.StatusUnprocessableEntity, "GRAPHQL_VALIDATION_FAILED", "fragment %q is never used", f.Name)
			}
		}
		m.directives += len(f.Directives)
		m.countWritten(f.SelectionSet)
	}
	for _, op := range doc.Operations {
		m.countWritten(op.SelectionSet)
	}
	switch {
	case m.spreads > l.MaxSpreads:
		return refuse(http.StatusBadRequest, "QUERY_TOO_COMPLEX", "the query has %d fragment spreads; at most %d are allowed", m.spreads, l.MaxSpreads)
	case m.directives > l.MaxDirectives:
		return refuse(http.StatusBadRequest, "QUERY_TOO_COMPLEX", "the query has %d directives; at most %d are allowed", m.directives, l.MaxDirectives)
	case total.fields > l.MaxFields:
		return refuse(http.StatusBadRequest, "QUERY_TOO_COMPLEX", "the query selects %d fields once its fragments are expanded; at most %d are allowed", total.fields, l.MaxFields)
	case total.depth > l.MaxDepth:
		return refuse(http.StatusBadRequest, "QUERY_TOO_DEEP", "the query is %d levels deep; at most %d are allowed", total.depth, l.MaxDepth)
	case total.introDepth > l.MaxIntroDepth:
		return refuse(http.StatusBadRequest, "QUERY_TOO_DEEP", "the introspection query is %d levels deep; at most %d are allowed", total.introDepth, l.MaxIntroDepth)
	}
	return nil
}

// cost is what a selection set asks for once its fragments are expanded.
type cost struct {
	fields     int // fields selected
	depth      int // deepest nesting of data fields
	introDepth int // deepest nesting below __schema or __type, counting them
}

func (c cost) merge(o cost) cost {
	return cost{fields: min(c.fields+o.fields, maxCount), depth: max(c.depth, o.depth), introDepth: max(c.introDepth, o.introDepth)}
}

// maxCount caps field counts, which double with each level of fragment
// fan-out, far below overflow and far above any limit.
const maxCount = 1 << 40

type fragmentKey struct {
	name  string
	intro bool
}

// meter measures a document, visiting each fragment once per context: a
// fragment spread many times costs one lookup, however deep the fan-out.
type meter struct {
	fragments  map[string]*ast.FragmentDefinition
	memo       map[fragmentKey]cost
	visiting   map[fragmentKey]bool
	spreads    int
	directives int
}

// countWritten counts the spreads and directives written in a selection set
// (not expanded: fragment definitions are counted once, on their own).
func (m *meter) countWritten(set ast.SelectionSet) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			m.directives += len(s.Directives)
			m.countWritten(s.SelectionSet)
		case *ast.InlineFragment:
			m.directives += len(s.Directives)
			m.countWritten(s.SelectionSet)
		case *ast.FragmentSpread:
			m.spreads++
			m.directives += len(s.Directives)
		}
	}
}

// set measures a selection set; intro is true below __schema or __type.
func (m *meter) set(set ast.SelectionSet, intro bool) cost {
	var c cost
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			enters := !intro && (s.Name == "__schema" || s.Name == "__type")
			child := m.set(s.SelectionSet, intro || enters)
			f := cost{fields: min(1+child.fields, maxCount)}
			switch {
			case enters:
				f.depth, f.introDepth = 1, 1+child.introDepth
			case intro:
				f.introDepth = 1 + child.introDepth
			default:
				f.depth, f.introDepth = 1+child.depth, child.introDepth
			}
			c = c.merge(f)
		case *ast.InlineFragment:
			c = c.merge(m.set(s.SelectionSet, intro))
		case *ast.FragmentSpread:
			c = c.merge(m.fragment(s.Name, intro))
		}
	}
	return c
}

// fragment measures a named fragment once per context; the memo also says
// which fragments an operation reaches. An unknown fragment or a cycle costs
// nothing here: validation refuses both.
func (m *meter) fragment(name string, intro bool) cost {
	key := fragmentKey{name, intro}
	if c, ok := m.memo[key]; ok {
		return c
	}
	def := m.fragments[name]
	if def == nil || m.visiting[key] {
		return cost{}
	}
	m.visiting[key] = true
	c := m.set(def.SelectionSet, intro)
	delete(m.visiting, key)
	m.memo[key] = c
	return c
}

// forward hands a checked request to gqlgen: a POST as a normalized JSON
// body, a GET with the query it runs (a persisted query's, looked up) and
// its variables dropped when there are none.
func forward(r *http.Request, req request) *http.Request {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		q.Set("query", req.Query)
		if req.Variables == nil {
			q.Del("variables")
		}
		u := *r.URL
		u.RawQuery = q.Encode()
		out := r.Clone(r.Context())
		out.URL = &u
		return out
	}
	body, _ := json.Marshal(req) // a struct of strings and valid raw JSON always marshals
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header.Set("Content-Type", "application/json")
	return out
}

// maxValidationErrors caps the errors validation reports: conflicting fields
// are reported pair by pair, so a few hundred fields could yield tens of
// thousands of errors and megabytes of answer.
const maxValidationErrors = 20

// errStopped is the panic that ends a validation whose context ended.
var errStopped = errors.New("validation stopped")

// validate runs GraphQL's validation rules over doc, reporting at most
// maxValidationErrors errors, and stops between two steps of the walk once
// ctx ends.
func validate(ctx context.Context, schema *ast.Schema, doc *ast.QueryDocument) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if v != errStopped { // the sentinel itself is the panic value
				panic(v)
			}
			err = ctx.Err()
		}
	}()
	list := validator.ValidateWithRules(schema, doc, validationRules(ctx, maxValidationErrors))
	if len(list) == 0 {
		return nil
	}
	for _, e := range list {
		errcode.Set(e, errcode.ValidationFailed)
	}
	return &requestError{status: http.StatusUnprocessableEntity, code: errcode.ValidationFailed, msg: list[0].Message, list: list}
}

// validationRules is GraphQL's default validation with at most max errors
// reported, and a first rule that stops the walk once ctx ends.
func validationRules(ctx context.Context, max int) *rules.Rules {
	r := rules.NewDefaultRules()
	reported := 0 // one rule set serves one validation, on one goroutine
	for name, rule := range r.GetInner() {
		r.ReplaceRule(name, func(ev *core.Events, addError core.AddErrFunc) {
			rule(ev, func(opts ...core.ErrorOption) {
				if reported < max {
					reported++
					addError(opts...)
				}
			})
		})
	}
	// Rules run in name order: "0" sorts before every rule of the spec.
	r.AddRule("0StopAtDeadline", func(ev *core.Events, _ core.AddErrFunc) {
		stop := func() {
			if ctx.Err() != nil {
				panic(errStopped)
			}
		}
		ev.OnOperation(func(*core.Walker, *ast.OperationDefinition) { stop() })
		ev.OnFragment(func(*core.Walker, *ast.FragmentDefinition) { stop() })
		ev.OnField(func(*core.Walker, *ast.Field) { stop() })
		ev.OnInlineFragment(func(*core.Walker, *ast.InlineFragment) { stop() })
		ev.OnFragmentSpread(func(*core.Walker, *ast.FragmentSpread) { stop() })
		ev.OnValue(func(*core.Walker, *ast.Value) { stop() })
	})
	return r
}

// checkedDocuments hands gqlgen the document the guard validated for this
// request, carried in the request's context (or, for a WebSocket's
// operation, the one the guard keeps for its query), so gqlgen neither
// parses nor validates it again and keeps no query text of its own.
type checkedDocuments struct{ g *guard }

type checkedKey struct{}

type checkedDoc struct {
	query string
	doc   *ast.QueryDocument
}

func withChecked(ctx context.Context, query string, doc *ast.QueryDocument) context.Context {
	return context.WithValue(ctx, checkedKey{}, checkedDoc{query: query, doc: doc})
}

// Get returns the request's checked document when query is its query.
func (c checkedDocuments) Get(ctx context.Context, query string) (*ast.QueryDocument, bool) {
	if d, ok := ctx.Value(checkedKey{}).(checkedDoc); ok {
		return d.doc, d.doc != nil && d.query == query
	}
	v, ok := c.g.checked.Get(sha256.Sum256([]byte(query)))
	return v.doc, ok && v.err == nil && v.doc != nil
}

// Add keeps nothing: the guard caches.
func (checkedDocuments) Add(context.Context, string, *ast.QueryDocument) {}

// gate admits a query: the policy says which query a request runs (its
// text, or the one its persisted hash names), then the guard checks it.
type gate struct {
	g *guard
	p *policy
}

// admit returns the query a request runs and its checked document.
func (a gate) admit(ctx context.Context, method, query string, ext map[string]any) (string, *ast.QueryDocument, error) {
	query, err := a.p.resolve(query, ext)
	if err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(query) == "" {
		return "", nil, refuse(http.StatusBadRequest, "BAD_REQUEST", "a query is required")
	}
	doc, err := a.g.check(ctx, method, query)
	return query, doc, err
}

// streamGuard admits the operations a WebSocket sends, which reach gqlgen
// without passing the handler's checks.
type streamGuard struct{ gate }

// ExtensionName names the extension in gqlgen's stats.
func (streamGuard) ExtensionName() string { return "StreamGuard" }

// Validate accepts any schema.
func (streamGuard) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters resolves and checks an operation's query before
// gqlgen parses it; a request the handler checked already passes.
func (s streamGuard) MutateOperationParameters(ctx context.Context, raw *graphql.RawParams) *gqlerror.Error {
	if _, checked := ctx.Value(checkedKey{}).(checkedDoc); checked {
		return nil
	}
	query, _, err := s.admit(ctx, http.MethodPost, raw.Query, raw.Extensions)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) && re.list != nil {
			return re.list[0]
		}
		e := gqlerror.Errorf("%s", err.Error())
		if errors.As(err, &re) {
			errcode.Set(e, re.code)
		}
		return e
	}
	raw.Query = query
	return nil
}
