// Package pypi serves the PyPI protocols.
package pypi

import (
	"net/http"

	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
)

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Pages    *page.Cache
	// BaseURL is the public URL of the PyPI root, without a
	// trailing slash, for example http://127.0.0.1:8080/pypi.
	BaseURL        string
	MaxUploadBytes int64
}

// Handler serves the PyPI protocols.
type Handler struct {
	o Options
}

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	return "", nil // TODO(issue 2): the PyPI endpoints
}

// WriteError writes an PyPI error.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}
