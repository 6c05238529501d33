package pypi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
)

// DefaultMaxUploadBytes bounds an uploaded file when Options leave it 0.
const DefaultMaxUploadBytes = 100 << 20

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Pages    *page.Cache
	// BaseURL is the public URL of the PyPI root, without a
	// trailing slash, for example http://127.0.0.1:8080/pypi.
	BaseURL        string
	MaxUploadBytes int64
}

// Handler serves the PyPI protocols. It is a server.Adapter.
type Handler struct {
	o Options
}

// New returns a Handler.
func New(o Options) *Handler {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.MaxUploadBytes <= 0 {
		o.MaxUploadBytes = DefaultMaxUploadBytes
	}
	if o.Pages == nil {
		o.Pages = page.NewCache(64 << 20)
	}
	return &Handler{o: o}
}

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	req, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		return "notfound", func(http.ResponseWriter, *http.Request) error { return err }
	}
	if req.ep == epUpload {
		if r.Method != http.MethodPost {
			return "upload", adapter.Methods("POST")
		}
		return "upload", h.upload
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "unsupported", adapter.Methods("GET, HEAD")
	}
	switch req.ep {
	case epRedirect:
		return "redirect", func(w http.ResponseWriter, r *http.Request) error {
			http.Redirect(w, r, h.o.BaseURL+req.location, http.StatusMovedPermanently)
			return nil
		}
	case epIndex:
		return "index", h.index
	case epProject:
		return "project", func(w http.ResponseWriter, r *http.Request) error { return h.project(w, r, req) }
	case epFile:
		return "file", func(w http.ResponseWriter, r *http.Request) error { return h.file(w, r, req) }
	case epMetadata:
		return "metadata", func(w http.ResponseWriter, r *http.Request) error { return h.metadata(w, r, req) }
	case epJSONProject, epJSONRelease:
		return "json", func(w http.ResponseWriter, r *http.Request) error { return h.jsonAPI(w, r, req) }
	}
	panic(fmt.Sprintf("pypi: endpoint %d has no route", req.ep))
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
