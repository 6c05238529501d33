package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/leak"
	"github.com/trove-dev/trove/internal/trove"
)

// Bounds of what a leak report may say about where a token was found
// (it goes into the owner's mail).
const (
	maxLeakURL    = 2048
	maxLeakSource = 64
)

// revokePackage serves DELETE /v1/packages/ECOSYSTEM/NAME/tokens: every
// live token of the package's owners that can write it. The caller needs a
// token with the tokens action, and must be an owner or an administrator.
func (h *Handler) revokePackage(w http.ResponseWriter, r *http.Request, req request) error {
	who := access.PrincipalFrom(r.Context())
	if err := who.CheckManageTokens(); err != nil {
		return err
	}
	t := req.target
	key, holders, err := h.o.Registry.TokenHolders(r.Context(), who, t.Ecosystem, t.Name)
	if err != nil {
		return err
	}
	n, err := h.o.Tokens.RevokePackage(r.Context(), t.Ecosystem, key, holders,
		access.Revocation{By: who.UserName, Package: string(t.Ecosystem) + ":" + t.Name, Client: clientAddr(r)})
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]int{"revoked": n})
}

// revokeEveryone serves DELETE /v1/admin/tokens: every token of every
// user, for an administrator whose token carries the tokens action on
// every package.
func (h *Handler) revokeEveryone(w http.ResponseWriter, r *http.Request, _ request) error {
	who := access.PrincipalFrom(r.Context())
	if err := who.CheckAdmin(access.ManageTokens); err != nil {
		return err
	}
	n, users, err := h.o.Tokens.RevokeEveryone(r.Context(), access.Revocation{By: "an administrator (" + who.UserName + ")", Client: clientAddr(r)})
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]int{"revoked": n, "users": users})
}

// reportLeaked serves POST /v1/tokens/leaked: anyone holding a token's
// secret reports it exposed, without signing in. The answer is the same
// whether or not the secret named a live token.
func (h *Handler) reportLeaked(w http.ResponseWriter, r *http.Request, _ request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	var body struct {
		Token  string `json:"token"`
		URL    string `json:"url"`
		Source string `json:"source"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return trove.Error(trove.ErrInvalid, "the request body is not JSON like {\"token\": \"trove_…\", \"url\": \"where it was found\", \"source\": \"…\"}: %v", err)
	}
	// The format and checksum are public knowledge: saying a string is
	// not a token tells nothing about the tokens that exist.
	if err := access.CheckToken(body.Token); err != nil {
		return trove.Error(trove.ErrInvalid, "%v", err)
	}
	rv := access.Revocation{URL: clean(body.URL, maxLeakURL), Source: clean(body.Source, maxLeakSource), Client: clientAddr(r)}
	if rv.Source == "" {
		rv.Source = "reported to the registry's API"
	}
	if _, err := h.o.Tokens.RevokeLeaked(r.Context(), body.Token, rv); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusAccepted, map[string]any{"ok": true,
		"message": "if this is a live token of this registry, it is revoked now and its owner is told"})
}

// secretScanning serves POST /v1/secret-scanning/github: a signed report
// of a secret scanner (internal/leak). Every finding that is a live Trove
// token is revoked and its owner told; the answer is 204 whatever the
// findings were.
func (h *Handler) secretScanning(w http.ResponseWriter, r *http.Request, _ request) error {
	if h.o.Leaks == nil {
		return trove.Error(trove.ErrNotFound, "secret scanning reports are not configured on this registry (secret_scanning in the configuration)")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, leak.MaxBody+1))
	switch {
	case err != nil:
		return trove.Error(trove.ErrInvalid, "reading the report: %w", err)
	case len(b) > leak.MaxBody:
		return trove.Error(trove.ErrTooLarge, "the report is larger than %d bytes; send fewer findings per request", leak.MaxBody)
	}
	if err := h.o.Leaks.Verify(r.Context(), r.Header.Get(leak.KeyIDHeader), r.Header.Get(leak.SignatureHeader), b); err != nil {
		return err
	}
	fs, err := leak.ParseReport(b)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if access.CheckToken(f.Token) != nil {
			continue // not a Trove token (another partner's type, or a false match)
		}
		rv := access.Revocation{URL: clean(f.URL, maxLeakURL), Source: clean(f.Source, maxLeakSource), Client: "secret scanner " + clientAddr(r)}
		if rv.Source == "" {
			rv.Source = "unknown"
		}
		if _, err := h.o.Tokens.RevokeLeaked(r.Context(), f.Token, rv); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clean makes a reporter's text fit for a mail: printable characters on
// one line, at most n bytes.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > n {
		s = s[:n]
		for !utf8.ValidString(s) { // a rune cut in two
			s = s[:len(s)-1]
		}
	}
	return s
}
