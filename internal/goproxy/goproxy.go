// Package goproxy serves Go modules: the GOPROXY protocol for the go
// command, a checksum database (sumdb) backed by Trove's transparency log,
// and an upload endpoint for publishing module versions. It is mounted
// below a prefix (such as /go):
//
//	GET  /<module>/@v/list               published versions, one a line (no yanked ones)
//	GET  /<module>/@v/<version>.info     {"Version", "Time"}: the publish time
//	GET  /<module>/@v/<version>.mod      the go.mod, byte-exact
//	GET  /<module>/@v/<version>.zip      the module zip
//	GET  /<module>/@latest               like .info, for the highest published version
//	GET  /sumdb/<name>/supported         200: the proxy serves the checksum database <name>
//	GET  /sumdb/<name>/latest            the signed tree (golang.org/x/mod/sumdb)
//	GET  /sumdb/<name>/lookup/<module>@<version>
//	GET  /sumdb/<name>/tile/8/<L>/<N>[.p/<W>], tile/8/data/<N>[.p/<W>]
//	POST /-/upload                       multipart form: module, version, mod, zip
//
// Module paths and versions in URLs are case-encoded (module.EscapePath).
// Every URL path is parsed by one function, parsePath.
//
// # Versions and states
//
// A version's .mod and .zip never change once published (go.sum and the
// checksum database pin them). Yanked versions are left out of list and
// @latest but stay downloadable, so builds that pin them keep working.
// Deleted versions answer 410 Gone; unknown ones 404 (both let the go
// command try its next proxy).
//
// # Private modules
//
// Every route below a module path asks registry.Service.CanRead first,
// before the page cache, the registry's file lookups and any upstream: a
// private module is read only by those holding a role on it with a token
// carrying read-private (from a .netrc, which the go command sends over
// https only). Everyone else gets exactly the 404 of a module path never
// published, so that private paths stay secret (a deleted version too
// answers them 404, not 410); a private module is local, never asked of
// an upstream. See docs/private-packages.md.
//
// # Checksum database
//
// Every publish appends a record to the transparency log that carries the
// version's go.sum lines (translog.Event), so the log is also a go.sum
// database: golang.org/x/mod/sumdb.Server serves it, signed by the log's
// key, under the log's name (its origin). Set GOSUMDB to the log's
// verifier key, optionally followed by <base>/go/sumdb/<name>; with just
// the key, the go command finds the database through GOPROXY
// (/sumdb/<name>/supported). Only records inside the latest signed tree
// are served.
//
// # Uploads
//
// An upload is a multipart/form-data POST with the fields module and
// version and the files mod (the go.mod) and zip (the module zip, as
// golang.org/x/mod/zip.CreateFromDir writes it). The zip is checked with
// zip.CheckZip and the go.mod against the zip and the module path; sizes
// are bounded before anything is parsed (MaxModBytes, Options.MaxZipBytes).
// Trove computes the go.sum hashes (dirhash.Hash1) itself.
package goproxy

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb"
	modzip "golang.org/x/mod/zip"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/upstream"
)

// DefaultMaxZipBytes bounds an uploaded module zip when Options leave it
// 0: the go command's own limit.
const DefaultMaxZipBytes = modzip.MaxZipFile

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Pages    *page.Cache
	// Log is the transparency log served as the checksum database, read
	// from LogStore. With a nil Log the proxy serves no checksum database.
	Log         *translog.Log
	LogStore    translog.Store
	MaxZipBytes int64
	// Upstream serves the modules that are not local from upstream
	// proxies (see upstream.go); nil or not enabled: none.
	Upstream *upstream.Client
	// SumState keeps what Trove verified of the upstreams' checksum
	// databases; needed with Upstream.
	SumState SumState
}

// Handler serves the Go module protocols. It is a server.Adapter.
type Handler struct {
	o      Options
	sumdb  *sumdb.Server          // nil without a log
	sumDBs map[string]*upstreamDB // by upstream source name
	table  adapter.Table[endpoint, request]
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.MaxZipBytes <= 0 {
		o.MaxZipBytes = DefaultMaxZipBytes
	}
	if o.Pages == nil {
		o.Pages = page.NewCache(16 << 20)
	}
	h := &Handler{o: o, sumDBs: upstreamDBs(o)}
	h.table = h.routes()
	if o.Log != nil && o.LogStore != nil {
		h.sumdb = sumdb.NewServer(&checksumDB{log: o.Log, store: o.LogStore, reg: o.Registry})
	}
	return h
}

// sumDBTimeout bounds one request to an upstream checksum database.
const sumDBTimeout = 30 * time.Second

// upstreamDBs returns the checksum databases of the upstream sources that
// name one. A source whose key does not parse gets none (configuration
// validation reports it), and its modules are refused.
func upstreamDBs(o Options) map[string]*upstreamDB {
	if o.Upstream == nil || o.SumState == nil {
		return nil
	}
	hc := &http.Client{Timeout: sumDBTimeout}
	out := map[string]*upstreamDB{}
	for _, src := range o.Upstream.Sources() {
		if src.SumDB == "" {
			continue
		}
		dbURL := src.SumDBURL
		if dbURL == "" {
			dbURL = strings.TrimSuffix(src.URL, "/") + "/sumdb/" + strings.SplitN(src.SumDB, "+", 2)[0]
		}
		db, err := newUpstreamDB(src.SumDB, dbURL, src.Name, src.URL, src.Token, hc, o.SumState)
		if err != nil {
			slog.Error("go upstream without a checksum database", "source", src.Name, "err", err)
			continue
		}
		db.allow = o.Upstream.Allow
		out[src.Name] = db
	}
	return out
}

// routes returns the Go route table of h.
func (h *Handler) routes() adapter.Table[endpoint, request] {
	get := http.MethodGet
	route := adapter.NewRoute
	return adapter.Table[endpoint, request]{
		{Route: route("list", get, "/{module}/@v/list", adapter.Open), Kind: epList, Serve: h.list},
		{Route: route("info", get, "/{module}/@v/{version}.info", adapter.Open), Kind: epInfo, Serve: h.info},
		{Route: route("latest", get, "/{module}/@latest", adapter.Open), Kind: epLatest, Serve: h.latest},
		{Route: route("download", get, "/{module}/@v/{version}.mod", adapter.Open), Kind: epMod, Serve: h.download},
		{Route: route("download", get, "/{module}/@v/{version}.zip", adapter.Open), Kind: epZip, Serve: h.download},
		{Route: route("sumdb", get, "/sumdb/{name}/…", adapter.Open), Kind: epSumdb, Serve: h.serveSumdb},
		{Route: route("upload", http.MethodPost, "/-/upload", adapter.Credential), Kind: epUpload, Serve: h.upload},
	}
}

// Routes returns the Go endpoints.
func (h *Handler) Routes() []adapter.Route { return h.table.Routes() }

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, adapter.Endpoint) {
	req, err := parsePath(r.URL.Path)
	if err != nil {
		return "notfound", func(http.ResponseWriter, *http.Request) error { return err }
	}
	return h.table.Lookup(req.ep, r.Method, req)
}

// WriteError writes a plain text error, which the go command shows to
// its user. A 401 carries a Bearer challenge.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	adapter.WriteText(w, status, msg, `Bearer realm="trove"`)
}
