package npm

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
)

// OIDC serves npm's trusted publishing exchange. npm 11 posts the CI's ID
// token (audience "npm:<registry host name>") as Bearer credentials to
// /-/npm/v1/oidc/token/exchange/package/<escaped name> at the root of the
// registry's host, whatever the registry's path, so mount it at
// /-/npm/v1/oidc:
//
//	POST /-/npm/v1/oidc/token/exchange/package/{name}  → {"token": "trove_…"}
//
// npm then publishes with that token; on any failure it falls back to
// the configured token and logs the body's message.
type OIDC struct {
	trust *trust.Service
	table adapter.Table[string, string]
}

// NewOIDC returns npm's exchange over t (nil or without issuers: off).
func NewOIDC(t *trust.Service) *OIDC {
	o := &OIDC{trust: t}
	o.table = adapter.Table[string, string]{
		{Route: adapter.NewRoute("oidc.exchange", http.MethodPost, "/token/exchange/package/{name}", adapter.SignIn), Kind: "exchange", Serve: o.exchange},
	}
	return o
}

// Routes lists the exchange's endpoints.
func (o *OIDC) Routes() []adapter.Route { return o.table.Routes() }

// Route maps a request to an endpoint: the name is "@scope%2fname" or
// "name" (npm-package-arg's escapedName).
func (o *OIDC) Route(r *http.Request) (string, adapter.Endpoint) {
	esc, ok := strings.CutPrefix(r.URL.EscapedPath(), "/token/exchange/package/")
	if !ok || esc == "" {
		return "", nil
	}
	name, err := url.PathUnescape(esc)
	if err != nil || strings.Count(name, "/") > 1 || strings.Contains(name, "/") && !strings.HasPrefix(name, "@") {
		return "", nil
	}
	return o.table.Lookup("exchange", r.Method, name)
}

// WriteError writes {"message": msg, "error": msg}: npm logs the first.
func (o *OIDC) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	w.Header().Del("WWW-Authenticate")
	adapter.WriteJSON(w, status, map[string]string{"message": msg, "error": msg})
}

func (o *OIDC) exchange(w http.ResponseWriter, r *http.Request, name string) error {
	if !o.trust.Enabled() {
		return trove.Error(access.ErrDenied, "trusted publishing is not enabled on this registry")
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
		return trove.Error(access.ErrUnauthenticated, "the exchange needs the CI's OIDC ID token as Bearer credentials")
	}
	m, err := o.trust.Exchange(r.Context(), strings.TrimSpace(tok), o.trust.NPMAudience(), trove.NPM, name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"token": m.Token})
}
