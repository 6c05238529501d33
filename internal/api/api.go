// Package api serves Trove's own JSON API, for operations that no
// ecosystem client offers (PyPI yanks, for one). Every endpoint takes an
// API token as Bearer credentials; errors are {"error": "..."}.
//
//	GET    /v1/whoami                                       → {"username": …}
//	GET    /v1/audit?QUERY                                  → {"entries": [{"id", "at", "user", "credential", "client", "action", "target", "outcome", "status", "count", …}]} (audit.go)
//	GET    /v1/tokens                                       → {"tokens": [{"id", "description", "packages", "actions", "created", "expires", "last_used"}]}
//	DELETE /v1/tokens                                       → {"revoked": N} (revoke every token of the user, this one too)
//	DELETE /v1/tokens/ID                                    → {"ok": true} (revoke one)
//	POST   /v1/tokens/leaked    {"token", "url", "source"}  → 202 {"ok": true} (report a token leaked; no sign-in: the secret is the proof)
//	POST   /v1/secret-scanning/github   [findings], signed  → 204 (GitHub's secret scanning partner format; see internal/leak)
//	DELETE /v1/admin/tokens                                 → {"revoked": N, "users": M} (every token of every user; administrators)
//	DELETE /v1/packages/ECOSYSTEM/NAME/tokens               → {"revoked": N} (every token that can write the package; its owners or administrators)
//	POST   /v1/packages/ECOSYSTEM/NAME/VERSION/yank        {"reason": …} → {"ok": true}
//	DELETE /v1/packages/ECOSYSTEM/NAME/VERSION/yank        → {"ok": true} (unyank)
//	DELETE /v1/packages/ECOSYSTEM/NAME/VERSION             {"reason": …} → {"ok": true} (delete: a tombstone)
//	GET    /v1/packages/ECOSYSTEM/NAME/owners              → {"owners": [{"name": …}]}
//	PUT    /v1/packages/ECOSYSTEM/NAME/owners/USER         → {"ok": true} (add an owner)
//	DELETE /v1/packages/ECOSYSTEM/NAME/owners/USER         → {"ok": true} (remove an owner)
//	… /v1/curation/…: curation of upstream versions (curate.go)
//	… /v1/orgs/…, /v1/invitations/…, /v1/packages/…/access…: roles (org.go)
//	… /v1/reports, /v1/admin/queue: reports and the administrators' queue (reports.go)
//
// NAME is path-escaped: an npm scope's slash is %2F, and so are the
// slashes of a Go module path. Listing owners needs no token. The token
// endpoints need a token with the tokens action (a token may always revoke
// itself). Adding an
// existing owner or removing a user who is not one succeeds and changes
// nothing; removing the last owner is refused. Owners may delete a release
// within the unpublish window after publishing, and only while no other
// package depends on that version; administrators at any time (with a reason,
// which goes into the transparency log, when others depend on it). The
// version stays taken forever.
package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/leak"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
)

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Tokens   *access.Tokens
	Curate   *curate.Service // nil: the curation endpoints answer 405
	// Leaks verifies secret scanners' reports; nil: the secret scanning
	// endpoint answers 404 (not configured).
	Leaks *leak.Keys
	// Notice tells maintainers their package became critical (nil: no one).
	Notice registry.Notice
	// Audit reads the audit log (nil: GET /v1/audit answers 405).
	Audit AuditLog
	// Trust configures trusted publishers and exchanges ID tokens (nil or
	// without issuers: those endpoints refuse).
	Trust *trust.Service
}

// Handler serves the API.
type Handler struct {
	o     Options
	table adapter.Table[string, request]
}

// New returns a Handler.
func New(o Options) *Handler {
	h := &Handler{o: o}
	h.table = h.routes()
	return h
}

// A request is a parsed API path.
type request struct {
	op     string
	target trove.Target
	user   string // owner, for owner changes; member, for organisations
	org    string
	team   string
}

// parsePath parses a request path (after the /api prefix), in its escaped form.
func parsePath(escaped string) (request, bool) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "v1" && parts[1] == "curation":
		return parseCuration(parts)
	case len(parts) >= 2 && parts[0] == "v1" && (parts[1] == "orgs" || parts[1] == "invitations"):
		return parseOrgs(parts)
	case (len(parts) == 5 || len(parts) == 7) && parts[0] == "v1" && parts[1] == "packages" && (parts[4] == "access" || parts[4] == "transfer" || parts[4] == "review"):
		// Before yank and delete: no ecosystem has these versions.
		return parseAccess(parts)
	case len(parts) == 2 && parts[0] == "v1" && parts[1] == "reports":
		return request{op: "reports"}, true
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "admin" && parts[2] == "queue":
		return request{op: "queue"}, true
	case len(parts) == 2 && parts[0] == "v1" && parts[1] == "whoami":
		return request{op: "whoami"}, true
	case len(parts) == 2 && parts[0] == "v1" && parts[1] == "audit":
		return request{op: "audit"}, true
	case len(parts) == 2 && parts[0] == "v1" && parts[1] == "tokens":
		return request{op: "tokens"}, true
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "tokens" && parts[2] == "leaked":
		return request{op: "leaked"}, true
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "secret-scanning" && parts[2] == "github":
		return request{op: "scanning"}, true
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "admin" && parts[2] == "tokens":
		return request{op: "alltokens"}, true
	case len(parts) == 5 && parts[0] == "v1" && parts[1] == "packages" && parts[4] == "tokens":
		// Before releases: no ecosystem has a version "tokens".
		name, err := url.PathUnescape(parts[3])
		if err != nil || name == "" {
			return request{}, false
		}
		return request{op: "pkgtokens", target: trove.Target{Ecosystem: trove.Ecosystem(parts[2]), Name: name}}, true
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "upstream" && parts[2] == "exceptions":
		return request{op: "exceptions"}, true
	case len(parts) == 5 && parts[0] == "v1" && parts[1] == "upstream" && parts[2] == "exceptions":
		name, err := url.PathUnescape(parts[4])
		if err != nil || name == "" || parts[3] == "" {
			return request{}, false
		}
		return request{op: "exception", target: trove.Target{Ecosystem: trove.Ecosystem(parts[3]), Name: name}}, true
	case len(parts) == 3 && parts[0] == "v1" && parts[1] == "tokens" && parts[2] != "":
		return request{op: "token", user: parts[2]}, true
	case len(parts) >= 5 && parts[0] == "v1" && (parts[1] == "packages" && parts[4] == "publishers" || parts[1] == "oidc"):
		return parsePublishers(parts)
	case len(parts) == 5 && parts[0] == "v1" && parts[1] == "packages" && (parts[4] == "policy" || parts[4] == "critical"):
		return parsePolicy(parts)
	case (len(parts) == 5 || len(parts) == 6) && parts[0] == "v1" && parts[1] == "packages" && parts[4] == "owners":
		// Before yank: no ecosystem has a version "owners", but a user may be called "yank".
		req := request{op: "owners", target: trove.Target{Ecosystem: trove.Ecosystem(parts[2])}}
		var err1, err2 error
		req.target.Name, err1 = url.PathUnescape(parts[3])
		if len(parts) == 6 {
			req.op = "owner"
			req.user, err2 = url.PathUnescape(parts[5])
		}
		if err1 != nil || err2 != nil || req.target.Name == "" || len(parts) == 6 && req.user == "" {
			return request{}, false
		}
		return req, true
	case (len(parts) == 5 || len(parts) == 6 && (parts[5] == "yank" || parts[5] == "scan" || parts[5] == "findings")) && parts[0] == "v1" && parts[1] == "packages":
		var t trove.Target
		var err1, err2 error
		t.Ecosystem = trove.Ecosystem(parts[2])
		t.Name, err1 = url.PathUnescape(parts[3])
		t.Version, err2 = url.PathUnescape(parts[4])
		if err1 != nil || err2 != nil || t.Name == "" || t.Version == "" {
			return request{}, false
		}
		op := "release"
		if len(parts) == 6 {
			op = parts[5]
		}
		return request{op: op, target: t}, true
	}
	return request{}, false
}

// routes returns the API's route table.
func (h *Handler) routes() adapter.Table[string, request] {
	get, put, post, del := http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete
	route := adapter.NewRoute
	const pkg, cred = "/v1/packages/{ecosystem}/{name}", adapter.Credential
	return append(adapter.Table[string, request]{
		{Route: route("whoami", get, "/v1/whoami", cred), Kind: "whoami", Serve: h.whoami},
		{Route: route("audit", get, "/v1/audit", cred), Kind: "audit", Serve: h.auditEntries},
		{Route: route("tokens.list", get, "/v1/tokens", cred), Kind: "tokens", Serve: h.listTokens},
		{Route: route("tokens.revokeall", del, "/v1/tokens", cred), Kind: "tokens", Serve: h.revokeAll},
		{Route: route("tokens.revoke", del, "/v1/tokens/{id}", cred), Kind: "token", Serve: h.revokeToken},
		{Route: route("tokens.leaked", post, "/v1/tokens/leaked", adapter.Proof), Kind: "leaked", Serve: h.reportLeaked},
		{Route: route("scanning.github", post, "/v1/secret-scanning/github", adapter.Proof), Kind: "scanning", Serve: h.secretScanning},
		{Route: route("admin.tokens.revokeall", del, "/v1/admin/tokens", cred), Kind: "alltokens", Serve: h.revokeEveryone},
		{Route: route("package.tokens.revoke", del, pkg+"/tokens", cred), Kind: "pkgtokens", Serve: h.revokePackage},
		{Route: route("yank", post, pkg+"/{version}/yank", cred), Kind: "yank", Serve: h.yank},
		{Route: route("unyank", del, pkg+"/{version}/yank", cred), Kind: "yank", Serve: h.unyank},
		{Route: route("delete", del, pkg+"/{version}", cred), Kind: "release", Serve: h.delete},
		{Route: route("scan.summary", get, pkg+"/{version}/scan", adapter.Open), Kind: "scan", Serve: h.scanSummary},
		{Route: route("scan.findings", get, pkg+"/{version}/findings", cred), Kind: "findings", Serve: h.scanFindings},
		{Route: route("owners", get, pkg+"/owners", adapter.Open), Kind: "owners", Serve: h.owners},
		{Route: route("policy", get, pkg+"/policy", adapter.Open), Kind: "policy", Serve: h.policy},
		{Route: route("policy.set", put, pkg+"/policy", cred), Kind: "policy", Serve: h.setPolicy},
		{Route: route("critical.mark", put, pkg+"/critical", cred), Kind: "critical", Serve: h.markCritical},
		{Route: route("critical.unmark", del, pkg+"/critical", cred), Kind: "critical", Serve: h.unmarkCritical},
		{Route: route("owner.add", put, pkg+"/owners/{user}", cred), Kind: "owner", Serve: h.addOwner},
		{Route: route("owner.remove", del, pkg+"/owners/{user}", cred), Kind: "owner", Serve: h.removeOwner},
		{Route: route("upstream.exceptions", get, "/v1/upstream/exceptions", adapter.Open), Kind: "exceptions", Serve: h.exceptions},
		{Route: route("upstream.except", put, "/v1/upstream/exceptions/{ecosystem}/{name}", cred), Kind: "exception", Serve: h.except},
		{Route: route("upstream.unexcept", del, "/v1/upstream/exceptions/{ecosystem}/{name}", cred), Kind: "exception", Serve: h.unexcept},
	}, append(append(append(h.curationRoutes(), h.publisherRoutes()...), h.orgRoutes()...), h.reportRoutes()...)...)
}

// Routes returns the API's endpoints.
func (h *Handler) Routes() []adapter.Route { return h.table.Routes() }

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, adapter.Endpoint) {
	req, ok := parsePath(r.URL.EscapedPath())
	if !ok {
		return "", nil
	}
	return h.table.Lookup(req.op, r.Method, req)
}

// WriteError writes {"error": msg}.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	adapter.WriteJSON(w, status, map[string]string{"error": msg})
}

func (h *Handler) whoami(w http.ResponseWriter, r *http.Request, _ request) error {
	p := access.PrincipalFrom(r.Context())
	if p == nil {
		return access.ErrUnauthenticated
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"username": p.UserName})
}

// maxBodyBytes bounds a request body: {"reason": …} and no more.
const maxBodyBytes = 64 << 10

// reason reads an optional body {"reason": "..."}.
func reason(r *http.Request) (string, error) {
	var body struct {
		Reason string `json:"reason"`
	}
	b, err := readBody(r)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return "", err
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return "", trove.Error(trove.ErrInvalid, "request body is not JSON like {\"reason\": \"...\"}: %w", err)
	}
	return body.Reason, nil
}

// readBody reads a request body of at most maxBodyBytes.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	switch {
	case err != nil:
		return nil, trove.Error(trove.ErrInvalid, "reading the request body: %w", err)
	case len(b) > maxBodyBytes:
		return nil, trove.Error(trove.ErrTooLarge, "the request body is larger than %d bytes", maxBodyBytes)
	}
	return b, nil
}

func (h *Handler) yank(w http.ResponseWriter, r *http.Request, req request) error {
	t := req.target
	why, err := reason(r)
	if err != nil {
		return err
	}
	if err := h.o.Registry.Yank(r.Context(), access.PrincipalFrom(r.Context()), t, why); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (h *Handler) unyank(w http.ResponseWriter, r *http.Request, req request) error {
	t := req.target
	if err := h.o.Registry.Unyank(r.Context(), access.PrincipalFrom(r.Context()), t); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, req request) error {
	t := req.target
	why, err := reason(r)
	if err != nil {
		return err
	}
	if err := h.o.Registry.Delete(r.Context(), access.PrincipalFrom(r.Context()), t, why); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// An owner is a package owner as the API lists it: by name, without email.
type owner struct {
	Name string `json:"name"`
}

func (h *Handler) owners(w http.ResponseWriter, r *http.Request, req request) error {
	t := req.target
	us, err := h.o.Registry.Owners(r.Context(), t.Ecosystem, t.Name)
	if err != nil {
		return err
	}
	out := make([]owner, 0, len(us))
	for _, u := range us {
		out = append(out, owner{Name: u.Name})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string][]owner{"owners": out})
}

func (h *Handler) addOwner(w http.ResponseWriter, r *http.Request, req request) error {
	return h.changeOwner(w, r, req, registry.AddOwner{User: req.user})
}

func (h *Handler) removeOwner(w http.ResponseWriter, r *http.Request, req request) error {
	return h.changeOwner(w, r, req, registry.RemoveOwner{User: req.user})
}

func (h *Handler) changeOwner(w http.ResponseWriter, r *http.Request, req request, c registry.Change) error {
	if err := h.o.Registry.Apply(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name, c); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// A token is a token as the API lists it: never its secret.
type token struct {
	ID          string    `json:"id"`
	Description string    `json:"description"`
	Packages    []string  `json:"packages"`
	Actions     []string  `json:"actions"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires,omitzero"`
	LastUsed    time.Time `json:"last_used,omitzero"`
}

func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, _ request) error {
	who := access.PrincipalFrom(r.Context())
	if err := who.CheckManageTokens(); err != nil {
		return err
	}
	toks, err := h.o.Tokens.List(r.Context(), who.UserID)
	if err != nil {
		return err
	}
	out := []token{}
	now := time.Now()
	for _, t := range toks {
		if t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt)) {
			out = append(out, token{ID: t.PublicID, Description: t.Description, Packages: t.Packages, Actions: t.Actions,
				Created: t.CreatedAt, Expires: t.ExpiresAt, LastUsed: t.LastUsedAt})
		}
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string][]token{"tokens": out})
}

func (h *Handler) revokeAll(w http.ResponseWriter, r *http.Request, _ request) error {
	who := access.PrincipalFrom(r.Context())
	if err := who.CheckManageTokens(); err != nil {
		return err
	}
	n, err := h.o.Tokens.RevokeAll(r.Context(), who.UserID, access.Revocation{By: who.UserName, Client: clientAddr(r)})
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, req request) error {
	id := req.user
	who := access.PrincipalFrom(r.Context())
	if !who.Presented(id) {
		if err := who.CheckManageTokens(); err != nil {
			return err
		}
	}
	if err := h.o.Tokens.Revoke(r.Context(), who.UserID, id, access.Revocation{By: who.UserName, Client: clientAddr(r)}); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// clientAddr is the request's client address, for security events.
func clientAddr(r *http.Request) string {
	return limit.RemoteAddr(r.RemoteAddr).String()
}
