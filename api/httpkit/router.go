package httpkit

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
)

// Handler serves one route; the error it returns is written by WriteError.
type Handler func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error

// Route is one method and path of an API, in OpenAPI's {param} notation.
type Route struct {
	Method  string
	Path    string
	Handler Handler
}

// serve adapts a Handler to httprouter, writing the error it returns.
func serve(h Handler) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if err := h(w, r, ps); err != nil {
			WriteError(w, r, err)
		}
	}
}

// Check is one dependency that readiness verifies.
type Check func(ctx context.Context) error

// API is a set of routes served by one httprouter.
type API struct {
	routes []Route
	router *httprouter.Router
}

// Routes returns the API's routes, sorted by path then method.
func (a *API) Routes() []Route {
	out := append([]Route(nil), a.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// ServeHTTP serves the API with its middleware.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// New registers routes. Paths where a static segment and a parameter share
// a position (GET /stocks/reports/... beside GET /stocks/{product_id}), which
// httprouter cannot hold together, are served by one catch-all that picks the
// static route first.
func New(routes []Route) *API {
	r := httprouter.New()
	r.RedirectTrailingSlash = false
	r.HandleMethodNotAllowed = true
	r.HandleOPTIONS = false // OPTIONS is not served: it answers 405 like any other undeclared method
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		WriteJSON(w, http.StatusNotFound, ErrorBody{Error: "no route " + req.Method + " " + req.URL.Path})
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed(routes, req.URL.Path), ", "))
		WriteJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "method " + req.Method + " is not allowed on " + req.URL.Path})
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		slog.ErrorContext(req.Context(), "handler panic", "method", req.Method, "path", req.URL.Path, "panic", v, "stack", string(debug.Stack()))
		WriteJSON(w, http.StatusInternalServerError, ErrorBody{Error: "internal error"})
	}

	type group struct {
		static map[string]httprouter.Handle // rest of the path after the prefix -> handler
		param  string                       // name of the parameter route's only segment
		byID   httprouter.Handle
	}
	groups := map[string]*group{} // "GET /stocks/" -> group
	all := routes
	for _, rt := range routes {
		if rt.Method == http.MethodGet { // HEAD answers as GET does, without the body
			all = append(all[:len(all):len(all)], Route{http.MethodHead, rt.Path, rt.Handler})
		}
	}
	for _, rt := range all {
		prefix, rest, ok := splitConflict(rt.Path, all, rt.Method)
		if !ok {
			r.Handle(rt.Method, toRouter(rt.Path), observed(rt.Path, serve(rt.Handler)))
			continue
		}
		key := rt.Method + " " + prefix
		g := groups[key]
		if g == nil {
			g = &group{static: map[string]httprouter.Handle{}}
			groups[key] = g
		}
		if strings.HasPrefix(rest, "{") {
			g.param, g.byID = strings.Trim(rest, "{}"), observed(rt.Path, serve(rt.Handler))
		} else {
			g.static[rest] = observed(rt.Path, serve(rt.Handler))
		}
	}
	declared := map[string]bool{}
	for _, rt := range routes {
		declared[rt.Path] = true
	}
	for key, g := range groups {
		method, prefix, _ := strings.Cut(key, " ")
		r.Handle(method, prefix+"*rest", func(w http.ResponseWriter, req *http.Request, ps httprouter.Params) {
			rest := strings.TrimPrefix(ps.ByName("rest"), "/")
			if h, ok := g.static[rest]; ok {
				h(w, req, nil)
				return
			}
			byID := g.byID != nil && rest != "" && !strings.Contains(rest, "/")
			// A path another method declares as it is (a static segment
			// there, not an id here) answers 405; an id, the only other
			// path byID takes, fits this method's own template.
			if !byID || declared[req.URL.Path] {
				if methods := allowed(routes, req.URL.Path); len(methods) > 0 && !slices.Contains(methods, req.Method) {
					r.MethodNotAllowed.ServeHTTP(w, req)
					return
				}
			}
			if byID {
				g.byID(w, req, httprouter.Params{{Key: g.param, Value: rest}})
				return
			}
			r.NotFound.ServeHTTP(w, req)
		})
	}
	return &API{routes: routes, router: r}
}

// allowed lists the methods declared for path, HEAD with GET: those of the
// route whose path is exactly path, else those of the routes whose
// parameters match it (a static segment wins over a parameter).
func allowed(routes []Route, path string) []string {
	var exact, matched []string
	for _, rt := range routes {
		switch {
		case rt.Path == path:
			exact = append(exact, rt.Method)
		case matchesTemplate(rt.Path, path):
			matched = append(matched, rt.Method)
		}
	}
	methods := exact
	if len(methods) == 0 {
		methods = matched
	}
	if slices.Contains(methods, http.MethodGet) {
		methods = append(methods, http.MethodHead)
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}

// matchesTemplate reports whether path fits a template such as /users/{user_id}.
func matchesTemplate(template, path string) bool {
	t, p := strings.Split(template, "/"), strings.Split(path, "/")
	if len(t) != len(p) {
		return false
	}
	for i := range t {
		if strings.HasPrefix(t[i], "{") {
			if p[i] == "" {
				return false
			}
		} else if t[i] != p[i] {
			return false
		}
	}
	return true
}

// splitConflict reports whether path shares its prefix with a sibling route
// of the same method that has a parameter where this one is static (or the
// reverse), and if so returns the shared prefix and the rest.
func splitConflict(path string, routes []Route, method string) (prefix, rest string, ok bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 2 {
		return "", "", false
	}
	prefix = "/" + segs[0] + "/"
	hasParam, hasStatic := false, false
	for _, other := range routes {
		if other.Method != method || !strings.HasPrefix(other.Path, prefix) {
			continue
		}
		if strings.HasPrefix(strings.TrimPrefix(other.Path, prefix), "{") {
			hasParam = true
		} else {
			hasStatic = true
		}
	}
	if !hasParam || !hasStatic {
		return "", "", false
	}
	return prefix, strings.TrimPrefix(path, prefix), true
}

// toRouter turns /users/{user_id} into httprouter's /users/:user_id.
func toRouter(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = ":" + strings.Trim(s, "{}")
		}
	}
	return strings.Join(segs, "/")
}

// Plain adapts a plain http.Handler, which writes its own errors, to a route.
func Plain(h http.Handler) Handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// Health answers that the process is alive.
func Health(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// Readiness answers 200 when every check passes within two seconds, else 503
// naming what failed.
func Readiness(checks map[string]Check) Handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, body := http.StatusOK, map[string]string{}
		for name, check := range checks {
			if err := check(ctx); err != nil {
				status, body[name] = http.StatusServiceUnavailable, err.Error()
				continue
			}
			body[name] = "ok"
		}
		WriteJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": body})
		return nil
	}
}

// Document serves a fixed JSON document.
func Document(doc []byte) Handler {
	return func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc) // a client gone mid-answer leaves nothing to report
		return nil
	}
}

// Create serves a POST route that creates an entity: it decodes the body
// into a T (see Decode), create makes the entity, and the answer is 201 with
// the new id under key.
func Create[T any](key string, create func(ctx context.Context, req T) (int64, error)) Handler {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		var req T
		if err := Decode(w, r, &req); err != nil {
			return err
		}
		id, err := create(r.Context(), req)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusCreated, map[string]int64{key: id})
		return nil
	}
}

// GetByID serves a GET route: get reads what the path parameter param
// names, and render turns it into the answer.
func GetByID[T any](param string, get func(ctx context.Context, id int64) (T, error), render func(T) any) Handler {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		id, err := PathID(ps, param)
		if err != nil {
			return err
		}
		v, err := get(r.Context(), id)
		if err != nil {
			return err
		}
		WriteJSON(w, http.StatusOK, render(v))
		return nil
	}
}
