package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
)

// Trusted publishing (internal/trust, docs/trusted-publishing.md):
//
//	GET    /v1/packages/{eco}/{name}/publishers       → {"publishers": [...]} (owners)
//	POST   /v1/packages/{eco}/{name}/publishers       trust.Spec → the publisher (owners; the package may not exist yet: pending)
//	DELETE /v1/packages/{eco}/{name}/publishers/{id}  → {"ok": true} (owners; revokes the tokens it minted)
//	POST   /v1/oidc/exchange/{eco}/{name}             {"token": "<ID token>"} → {"token": "trove_…", "expires": <unix>, "publisher": id}
//
// The exchange is for `trove publish` and any client without an exchange
// of its own (Go modules); its ID token's audience is the registry's
// (GET /_/oidc/audience shows it).

// parsePublishers parses v1/packages/{eco}/{name}/publishers[/{id}] and
// v1/oidc/exchange/{eco}/{name}.
func parsePublishers(parts []string) (request, bool) {
	var eco, esc, op, id string
	switch {
	case len(parts) == 5 && parts[1] == "packages" && parts[4] == "publishers":
		eco, esc, op = parts[2], parts[3], "publishers"
	case len(parts) == 6 && parts[1] == "packages" && parts[4] == "publishers":
		eco, esc, op, id = parts[2], parts[3], "publisher", parts[5]
	case len(parts) == 5 && parts[1] == "oidc" && parts[2] == "exchange":
		eco, esc, op = parts[3], parts[4], "exchange"
	default:
		return request{}, false
	}
	name, err := url.PathUnescape(esc)
	if err != nil || name == "" || eco == "" || op == "publisher" && id == "" {
		return request{}, false
	}
	return request{op: op, target: trove.Target{Ecosystem: trove.Ecosystem(eco), Name: name}, user: id}, true
}

func (h *Handler) publisherRoutes() adapter.Table[string, request] {
	route := adapter.NewRoute
	const pkg, cred = "/v1/packages/{ecosystem}/{name}", adapter.Credential
	return adapter.Table[string, request]{
		{Route: route("publishers.list", http.MethodGet, pkg+"/publishers", cred), Kind: "publishers", Serve: h.listPublishers},
		{Route: route("publishers.add", http.MethodPost, pkg+"/publishers", cred), Kind: "publishers", Serve: h.addPublisher},
		{Route: route("publishers.remove", http.MethodDelete, pkg+"/publishers/{id}", cred), Kind: "publisher", Serve: h.removePublisher},
		{Route: route("oidc.exchange", http.MethodPost, "/v1/oidc/exchange/{ecosystem}/{name}", adapter.SignIn), Kind: "exchange", Serve: h.exchange},
	}
}

func (h *Handler) listPublishers(w http.ResponseWriter, r *http.Request, req request) error {
	ps, err := h.o.Trust.List(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"publishers": ps})
}

func (h *Handler) addPublisher(w http.ResponseWriter, r *http.Request, req request) error {
	var spec trust.Spec
	if err := readJSON(r, &spec); err != nil {
		return err
	}
	p, err := h.o.Trust.Add(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name, spec)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusCreated, p)
}

func (h *Handler) removePublisher(w http.ResponseWriter, r *http.Request, req request) error {
	id, err := strconv.ParseInt(req.user, 10, 64)
	if err != nil || id <= 0 {
		return trove.Error(trove.ErrInvalid, "publisher id %q is not a number (trove publisher list shows them)", req.user)
	}
	if err := h.o.Trust.Remove(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name, id); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (h *Handler) exchange(w http.ResponseWriter, r *http.Request, req request) error {
	var body struct {
		Token string `json:"token"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Token == "" {
		return trove.Error(trove.ErrInvalid, `the body must be JSON like {"token": "<OIDC ID token>"}`)
	}
	m, err := h.o.Trust.Exchange(r.Context(), body.Token, h.o.Trust.Audience(), req.target.Ecosystem, req.target.Name)
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"token": m.Token, "expires": m.ExpiresAt.Unix(), "publisher": m.Publisher,
		"package": string(m.Ecosystem) + ":" + string(m.Name)})
}
