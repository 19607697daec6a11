package graphql

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// QueryMode says which queries the endpoint runs.
type QueryMode string

// Query modes.
const (
	// QueriesOpen runs any query within the limits, and automatic persisted
	// queries (APQ): a client sends a query's SHA-256 alone and sends the
	// text only when the server does not know it yet.
	QueriesOpen QueryMode = "open"
	// QueriesAllowlist runs only the queries of the persisted-query
	// manifest committed with the schema (persisted/queries.json), sent by
	// hash or as their exact text; any other query is refused before it is
	// parsed.
	QueriesAllowlist QueryMode = "allowlist"
)

// Manifest is a persisted-query manifest in Apollo's format.
type Manifest struct {
	Format     string              `json:"format"`
	Version    int                 `json:"version"`
	Operations []ManifestOperation `json:"operations"`
}

// ManifestOperation is one registered query: its id is the SHA-256 of its body, in hex.
type ManifestOperation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Body string `json:"body"`
}

// ManifestFormat names the manifest's format.
const ManifestFormat = "apollo-persisted-query-manifest"

//go:embed persisted/queries.json
var manifestFS embed.FS

// ManifestPath is where the manifest lives in the repository, under api/graphql.
const ManifestPath = "persisted/queries.json"

// CommittedManifest is the manifest committed with the schema.
func CommittedManifest() (Manifest, error) {
	raw, err := manifestFS.ReadFile(ManifestPath)
	if err != nil {
		return Manifest{}, err
	}
	return ParseManifest(raw)
}

// ParseManifest reads a manifest and checks that each id is its body's hash.
func ParseManifest(raw []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Manifest{}, fmt.Errorf("read persisted-query manifest: %w", err)
	}
	if m.Format != ManifestFormat || m.Version != 1 {
		return Manifest{}, fmt.Errorf("persisted-query manifest: format %q version %d, want %q version 1", m.Format, m.Version, ManifestFormat)
	}
	for _, op := range m.Operations {
		if QueryHash(op.Body) != op.ID {
			return Manifest{}, fmt.Errorf("persisted-query manifest: operation %q: id is not the SHA-256 of its body", op.Name)
		}
	}
	return m, nil
}

// QueryHash is a query's SHA-256 in hex, as persisted queries name it.
func QueryHash(query string) string {
	h := sha256.Sum256([]byte(query))
	return hex.EncodeToString(h[:])
}

// apqMaxQuery is the longest query the APQ store keeps, and apqEntries how
// many it keeps: at most 2 MiB of query text.
const (
	apqMaxQuery = 4 << 10
	apqEntries  = 512
)

// apqStore is the bounded store of automatic persisted queries: gqlgen's
// APQ extension adds each query sent with its hash (once checked), the
// policy looks hashes up.
type apqStore struct{ lru *lru.Cache[string, string] }

func newAPQStore() apqStore {
	c, _ := lru.New[string, string](apqEntries) // only a size below 1 fails
	return apqStore{lru: c}
}

func (s apqStore) Get(_ context.Context, hash string) (string, bool) { return s.lru.Get(hash) }

func (s apqStore) Add(_ context.Context, hash, query string) {
	if len(query) <= apqMaxQuery {
		s.lru.Add(hash, query)
	}
}

// policy turns a request's query and persisted-query extension into the
// query to run, by the endpoint's mode.
type policy struct {
	mode      QueryMode
	allowlist map[string]string // hash → query, in allowlist mode
	apq       apqStore
}

func newPolicy(mode QueryMode, m Manifest) (*policy, error) {
	switch mode {
	case "":
		mode = QueriesOpen
	case QueriesOpen, QueriesAllowlist:
	default:
		return nil, fmt.Errorf("unknown GraphQL query mode %q: want %q or %q", mode, QueriesOpen, QueriesAllowlist)
	}
	p := &policy{mode: mode, apq: newAPQStore(), allowlist: map[string]string{}}
	for _, op := range m.Operations {
		p.allowlist[op.ID] = op.Body
	}
	return p, nil
}

// persistedQuery is the persistedQuery extension of a request.
type persistedQuery struct {
	Version int    `json:"version"`
	Hash    string `json:"sha256Hash"`
}

// resolve returns the query a request runs: the text it sent, or the one its
// hash names; or refuses it (in allowlist mode, any query not registered;
// in open mode, a hash not known yet, as APQ's protocol says).
func (p *policy) resolve(query string, ext map[string]any) (string, error) {
	var pq *persistedQuery
	if raw, ok := ext["persistedQuery"]; ok && raw != nil {
		b, _ := json.Marshal(raw) // decoded from JSON: marshals again
		pq = &persistedQuery{}
		if err := json.Unmarshal(b, pq); err != nil || pq.Version != 1 || len(pq.Hash) != 2*sha256.Size {
			return "", refuse(http.StatusBadRequest, "BAD_REQUEST", "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": <64 hex digits>}")
		}
		if query != "" && QueryHash(query) != pq.Hash {
			return "", refuse(http.StatusBadRequest, "BAD_REQUEST", "the persisted query's sha256Hash is not the SHA-256 of the query sent")
		}
	}
	if p.mode == QueriesAllowlist {
		hash := ""
		switch {
		case pq != nil:
			hash = pq.Hash
		case query != "":
			hash = QueryHash(query)
		}
		registered, ok := p.allowlist[hash]
		if !ok {
			return "", refuse(http.StatusBadRequest, "PERSISTED_QUERY_NOT_ALLOWED",
				"this endpoint runs only registered queries: send a query of the persisted-query manifest, by its sha256Hash")
		}
		return registered, nil
	}
	if pq != nil && query == "" {
		known, ok := p.apq.Get(context.Background(), pq.Hash)
		if !ok {
			// Apollo's protocol: the client sends the query with its hash next.
			return "", refuse(http.StatusOK, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
		}
		return known, nil
	}
	return query, nil
}

// Register adds a query to the manifest, or replaces the one of the same
// name: it must parse, validate against the schema and hold exactly one
// named operation.
func (m *Manifest) Register(body string) (ManifestOperation, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: body})
	if err != nil {
		return ManifestOperation{}, fmt.Errorf("parse: %w", err)
	}
	if errs := validator.Validate(NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema(), doc); len(errs) > 0 {
		return ManifestOperation{}, fmt.Errorf("validate: %w", errs)
	}
	if len(doc.Operations) != 1 || doc.Operations[0].Name == "" {
		return ManifestOperation{}, errors.New("a registered query holds exactly one operation, and names it")
	}
	op := ManifestOperation{ID: QueryHash(body), Name: doc.Operations[0].Name, Type: string(doc.Operations[0].Operation), Body: body}
	m.Operations = slices.DeleteFunc(m.Operations, func(o ManifestOperation) bool { return o.Name == op.Name })
	m.Operations = append(m.Operations, op)
	slices.SortFunc(m.Operations, func(a, b ManifestOperation) int { return strings.Compare(a.Name, b.Name) })
	return op, nil
}
