// Package api serves Trove's own JSON API, for operations that no
// ecosystem client offers (PyPI yanks, for one). Every endpoint takes an
// API token as Bearer credentials; errors are {"error": "..."}.
//
//	GET    /v1/whoami                                       → {"username": …}
//	POST   /v1/packages/ECOSYSTEM/NAME/VERSION/yank        {"reason": …} → {"ok": true}
//	DELETE /v1/packages/ECOSYSTEM/NAME/VERSION/yank        → {"ok": true} (unyank)
//	DELETE /v1/packages/ECOSYSTEM/NAME/VERSION             {"reason": …} → {"ok": true} (delete: a tombstone)
//	GET    /v1/packages/ECOSYSTEM/NAME/owners              → {"owners": [{"name": …}]}
//	PUT    /v1/packages/ECOSYSTEM/NAME/owners/USER         → {"ok": true} (add an owner)
//	DELETE /v1/packages/ECOSYSTEM/NAME/owners/USER         → {"ok": true} (remove an owner)
//
// NAME is path-escaped: an npm scope's slash is %2F, and so are the
// slashes of a Go module path. Listing owners needs no token. Adding an
// existing owner or removing a user who is not one succeeds and changes
// nothing; removing the last owner is refused. Owners may delete a release
// within the unpublish window after publishing, and only while no other
// package depends on that version; administrators at any time (with a reason,
// which goes into the transparency log, when others depend on it). The
// version stays taken forever.
package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Tokens   *access.Tokens
}

// Handler serves the API.
type Handler struct {
	o Options
}

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// A request is a parsed API path.
type request struct {
	op     string
	target trove.Target
	user   string // owner, for owner changes
}

// parsePath parses a request path (after the /api prefix), in its escaped form.
func parsePath(escaped string) (request, bool) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "v1" && parts[1] == "whoami":
		return request{op: "whoami"}, true
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
	case (len(parts) == 5 || len(parts) == 6 && parts[5] == "yank") && parts[0] == "v1" && parts[1] == "packages":
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
			op = "yank"
		}
		return request{op: op, target: t}, true
	}
	return request{}, false
}

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, func(http.ResponseWriter, *http.Request) error) {
	req, ok := parsePath(r.URL.EscapedPath())
	if !ok {
		return "", nil
	}
	switch {
	case req.op == "whoami" && r.Method == http.MethodGet:
		return "whoami", h.whoami
	case req.op == "yank" && r.Method == http.MethodPost:
		return "yank", func(w http.ResponseWriter, r *http.Request) error { return h.yank(w, r, req.target) }
	case req.op == "yank" && r.Method == http.MethodDelete:
		return "unyank", func(w http.ResponseWriter, r *http.Request) error { return h.unyank(w, r, req.target) }
	case req.op == "release" && r.Method == http.MethodDelete:
		return "delete", func(w http.ResponseWriter, r *http.Request) error { return h.delete(w, r, req.target) }
	case req.op == "owners" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return "owners", func(w http.ResponseWriter, r *http.Request) error { return h.owners(w, r, req.target) }
	case req.op == "owner" && r.Method == http.MethodPut:
		return "owner.add", func(w http.ResponseWriter, r *http.Request) error {
			return h.changeOwner(w, r, req, h.o.Registry.AddOwner)
		}
	case req.op == "owner" && r.Method == http.MethodDelete:
		return "owner.remove", func(w http.ResponseWriter, r *http.Request) error {
			return h.changeOwner(w, r, req, h.o.Registry.RemoveOwner)
		}
	}
	return "unsupported", func(http.ResponseWriter, *http.Request) error {
		return trove.Error(trove.ErrUnsupported, "%s is not supported on %s", r.Method, access.Redact(r.URL.Path))
	}
}

// WriteError writes {"error": msg}.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	adapter.WriteJSON(w, status, map[string]string{"error": msg})
}

func (h *Handler) whoami(w http.ResponseWriter, r *http.Request) error {
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
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	switch {
	case err != nil:
		return "", trove.Error(trove.ErrInvalid, "reading the request body: %w", err)
	case len(b) > maxBodyBytes:
		return "", trove.Error(trove.ErrTooLarge, "the request body is larger than %d bytes", maxBodyBytes)
	case len(strings.TrimSpace(string(b))) == 0:
		return "", nil
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return "", trove.Error(trove.ErrInvalid, "request body is not JSON like {\"reason\": \"...\"}: %v", err)
	}
	return body.Reason, nil
}

func (h *Handler) yank(w http.ResponseWriter, r *http.Request, t trove.Target) error {
	why, err := reason(r)
	if err != nil {
		return err
	}
	if err := h.o.Registry.Yank(r.Context(), access.PrincipalFrom(r.Context()), t, why); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (h *Handler) unyank(w http.ResponseWriter, r *http.Request, t trove.Target) error {
	if err := h.o.Registry.Unyank(r.Context(), access.PrincipalFrom(r.Context()), t); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request, t trove.Target) error {
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

func (h *Handler) owners(w http.ResponseWriter, r *http.Request, t trove.Target) error {
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

func (h *Handler) changeOwner(w http.ResponseWriter, r *http.Request, req request,
	change func(context.Context, *access.Principal, trove.Ecosystem, string, string) error) error {
	if err := change(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name, req.user); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
