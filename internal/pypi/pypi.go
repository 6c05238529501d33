package pypi

import (
	"net/http"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/upstream"
)

// DefaultMaxUploadBytes bounds an uploaded file when Options leave it 0.
const DefaultMaxUploadBytes = 100 << 20

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Pages    *page.Cache
	// BaseURL is the public URL of the PyPI root, without a
	// trailing slash, for example http://127.0.0.1:8080/pypi.
	BaseURL string
	// MaxUploadBytes bounds an uploaded file, and a file fetched from an
	// upstream too.
	MaxUploadBytes int64
	// Upstream proxies the projects that are not local (proxy.go); nil
	// or without sources, Trove serves local projects only.
	Upstream *upstream.Client
	// Now is the clock of the upstream client's TTL; nil for time.Now.
	Now func() time.Time
}

// Handler serves the PyPI protocols. It is a server.Adapter.
type Handler struct {
	o     Options
	table adapter.Table[endpoint, request]
	memo  upMemo // parsed upstream pages
}

// New returns a Handler.
func New(o Options) *Handler {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Pages == nil {
		o.Pages = page.NewCache(64 << 20)
	}
	h := &Handler{o: o}
	h.table = h.routes()
	return h
}

// routes returns the PyPI route table of h.
func (h *Handler) routes() adapter.Table[endpoint, request] {
	get := http.MethodGet
	route := adapter.NewRoute
	return adapter.Table[endpoint, request]{
		{Route: route("redirect", get, "/simple/{name, not normalized}/", adapter.Open), Kind: epRedirect, Serve: h.redirect},
		{Route: route("index", get, "/simple/", adapter.Open), Kind: epIndex, Serve: h.index},
		{Route: route("project", get, "/simple/{name}/", adapter.Open), Kind: epProject, Serve: h.project},
		{Route: route("file", get, "/packages/{sha256}/{filename}", adapter.Open), Kind: epFile, Serve: h.file},
		{Route: route("metadata", get, "/packages/{sha256}/{filename}.metadata", adapter.Open), Kind: epMetadata, Serve: h.metadata},
		{Route: route("json", get, "/pypi/{name}/json", adapter.Open), Kind: epJSONProject, Serve: h.jsonAPI},
		{Route: route("json", get, "/pypi/{name}/{version}/json", adapter.Open), Kind: epJSONRelease, Serve: h.jsonAPI},
		{Route: route("upload", http.MethodPost, "/legacy/", adapter.Credential), Kind: epUpload, Serve: h.upload},
	}
}

// Routes returns the PyPI endpoints.
func (h *Handler) Routes() []adapter.Route { return h.table.Routes() }

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, adapter.Endpoint) {
	req, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		return "notfound", func(http.ResponseWriter, *http.Request) error { return err }
	}
	return h.table.Lookup(req.ep, r.Method, req)
}

// redirect sends a non-canonical simple URL to its canonical form.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, req request) error {
	http.Redirect(w, r, h.o.BaseURL+req.location, http.StatusMovedPermanently)
	return nil
}

// WriteError writes a PyPI error: a plain text body and, for uploads over
// HTTP/1.x, the message as the reason phrase too, where twine shows it.
// A 401 carries a Basic challenge, so pip and twine ask for credentials.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	const challenge = `Basic realm="trove"`
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	if r.Method == http.MethodPost && r.ProtoMajor == 1 {
		if req, err := parsePath(r.URL.EscapedPath()); err == nil && req.ep == epUpload && writeWithReason(w, status, msg) {
			return
		}
	}
	adapter.WriteText(w, status, msg, challenge)
}
