// Package npm serves the npm registry protocol.
package npm

import (
	"net/http"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
)

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Pages    *page.Cache
	Tokens   *access.Tokens
	Users    *account.Users
	Logins   *account.Logins
	// BaseURL is the public URL of the npm registry root, without a
	// trailing slash, for example http://127.0.0.1:8080/npm.
	BaseURL          string
	MaxPublishBytes  int64
	OpenRegistration bool
	UnpublishWindow  time.Duration
}

// Handler serves the npm protocol.
type Handler struct {
	o Options
}

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	return "", nil // TODO(issue 2): the npm endpoints
}

// WriteError writes an npm JSON error.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	http.Error(w, msg, status)
}
