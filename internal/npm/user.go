package npm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// maxAccountBody bounds the bodies of login and token requests.
const maxAccountBody = 64 << 10

// whoami serves GET /-/whoami.
func (h *Handler) whoami(w http.ResponseWriter, r *http.Request, _ request) error {
	who, err := h.needPrincipal(r.Context(), "npm whoami")
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"username": who.UserName})
}

// couchLogin serves PUT /-/user/org.couchdb.user:NAME, npm's legacy login
// and adduser: it checks the password and returns a new API token. An
// unknown user is created only when registration is open.
func (h *Handler) couchLogin(w http.ResponseWriter, r *http.Request, req request) error {
	body, err := adapter.ReadBody(w, r, maxAccountBody, "the login request")
	if err != nil {
		return err
	}
	var u struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		Email    string `json:"email"`
	}
	if err := decodeJSON(body, &u, "the login request"); err != nil {
		return err
	}
	switch {
	case u.Name == "":
		return trove.Error(trove.ErrInvalid, "the login request has no user name")
	case u.Name != req.arg:
		return trove.Error(trove.ErrInvalid, "the user name in the request (%q) differs from the one in the URL (%q)", u.Name, req.arg)
	case u.Password == "":
		return trove.Error(trove.ErrInvalid, "the login request has no password")
	}
	ctx := r.Context()
	user, err := h.o.Users.SignIn(account.WithUserAgent(ctx, r.UserAgent()), u.Name, u.Password, limit.RemoteAddr(r.RemoteAddr))
	if errors.Is(err, account.ErrBadCredentials) {
		user, err = h.register(ctx, u.Name, u.Email, u.Password)
	}
	if err != nil {
		return err
	}
	level, err := h.loginLevel(w, r, user.ID)
	if err != nil || level == trove.AuthNone {
		return err // the challenge was answered
	}
	tok, _, err := h.o.Tokens.Create(ctx, user.ID, access.Spec{
		Description: "npm login",
		Packages:    []access.Pattern{"*"},
		Actions:     access.Actions,
		ExpiresAt:   account.LoginTokenExpiry(h.o.Tokens, time.Now()),
		AuthLevel:   level,
	})
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusCreated, map[string]any{"ok": true, "id": couchUserPrefix + user.Name, "token": tok})
}

// couchUser serves GET /-/user/org.couchdb.user:NAME, which npm owner
// add|rm reads to learn the user's name. Only signed-in users may ask, and
// the answer holds the name alone: an email address is private.
func (h *Handler) couchUser(w http.ResponseWriter, r *http.Request, req request) error {
	if _, err := h.needPrincipal(r.Context(), "looking up a user"); err != nil {
		return err
	}
	u, err := h.o.Users.ByName(r.Context(), req.arg)
	if errors.Is(err, trove.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "no user %s", req.arg)
	}
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"_id": couchUserPrefix + u.Name, "name": u.Name})
}

// register handles a sign-in that failed: with open registration an
// unknown name becomes a new account; otherwise, and for a wrong
// password, the answer is the same whether the name exists or not.
func (h *Handler) register(ctx context.Context, name, email, password string) (*trove.User, error) {
	if !h.o.OpenRegistration {
		return nil, fmt.Errorf("%w; accounts are created by an administrator (trove admin user add): ask one if you have none", account.ErrBadCredentials)
	}
	_, err := h.o.Users.ByName(ctx, name)
	switch {
	case err == nil:
		return nil, account.ErrBadCredentials
	case !errors.Is(err, trove.ErrNotFound):
		return nil, err
	case email == "":
		return nil, trove.Error(trove.ErrInvalid, "there is no user %q; to create the account, run npm adduser, which asks for an email address", name)
	}
	return h.o.Users.Create(ctx, account.NewUser{Name: name, Email: email, Password: password})
}

// logout serves DELETE /-/user/token/TOKEN: the caller's token is revoked.
// Any token may revoke itself; revoking another one is managing tokens.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "npm logout")
	if err != nil {
		return err
	}
	if !who.Presented(req.arg) {
		if err := who.CheckManageTokens(); err != nil {
			return err
		}
	}
	if err := h.revoke(r.Context(), who, req.arg, limit.RemoteAddr(r.RemoteAddr).String()); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}

// revoke revokes one of the user's tokens, by secret or public id.
func (h *Handler) revoke(ctx context.Context, who *access.Principal, tokenOrKey, client string) error {
	err := h.o.Tokens.Revoke(ctx, who.UserID, tokenOrKey, access.Revocation{By: who.UserName, Client: client})
	if errors.Is(err, trove.ErrNotFound) {
		return trove.Error(trove.ErrNotFound, "you have no such token")
	}
	return err
}

// tokenObject is a token as npm token list shows it.
type tokenObject struct {
	Key           string   `json:"key"`
	Token         string   `json:"token"`
	Name          string   `json:"name"`
	CIDRWhitelist []string `json:"cidr_whitelist"`
	Readonly      bool     `json:"readonly"`
	Automation    bool     `json:"automation"`
	Created       string   `json:"created"`
	Updated       string   `json:"updated"`
	Expires       string   `json:"expires,omitempty"`
	Packages      []string `json:"packages"`
	Actions       []string `json:"actions"`
}

func newTokenObject(t *trove.Token) tokenObject {
	o := tokenObject{
		Key: t.PublicID,
		// Only a hash of the secret is stored; the prefix is all there is
		// to show (npm adds the ellipsis), and it lets npm token revoke
		// accept a whole token, which the server matches by its hash.
		Token:    access.TokenPrefix,
		Name:     t.Description,
		Readonly: !containsString(t.Actions, string(access.Publish)),
		Created:  formatTime(t.CreatedAt),
		Updated:  formatTime(t.CreatedAt),
		Packages: t.Packages,
		Actions:  t.Actions,
	}
	if !t.LastUsedAt.IsZero() {
		o.Updated = formatTime(t.LastUsedAt)
	}
	o.CIDRWhitelist = t.CIDRs
	if !t.ExpiresAt.IsZero() {
		o.Expires = formatTime(t.ExpiresAt)
	}
	if o.Name == "" {
		o.Name = "token"
	}
	return o
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// listTokens serves GET /-/npm/v1/tokens: the caller's live tokens.
func (h *Handler) listTokens(w http.ResponseWriter, r *http.Request, _ request) error {
	who, err := h.needPrincipal(r.Context(), "npm token list")
	if err != nil {
		return err
	}
	if err := who.CheckManageTokens(); err != nil {
		return err
	}
	toks, err := h.o.Tokens.List(r.Context(), who.UserID)
	if err != nil {
		return err
	}
	now := time.Now()
	objects := []tokenObject{}
	for _, t := range toks {
		if !t.RevokedAt.IsZero() || !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
			continue
		}
		objects = append(objects, newTokenObject(t))
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"objects": objects, "total": len(objects), "urls": map[string]any{"next": nil}})
}

// createToken serves POST /-/npm/v1/tokens (npm token create): after
// checking the caller's password, a new token. npm 11 sends granular
// fields (packages, scopes, expires, permissions); older clients only
// password, readonly and cidr_whitelist.
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, _ request) error {
	who, err := h.needPrincipal(r.Context(), "npm token create")
	if err != nil {
		return err
	}
	body, err := adapter.ReadBody(w, r, maxAccountBody, "the token request")
	if err != nil {
		return err
	}
	var req tokenRequest
	if err := decodeJSON(body, &req, "the token request"); err != nil {
		return err
	}
	spec, err := req.spec()
	if err != nil {
		return err
	}
	// A new token is a sign-in: it needs the password, whatever token
	// the request presents.
	if req.Password == "" {
		return trove.Error(trove.ErrInvalid, "creating a token needs your password")
	}
	if _, err := h.o.Users.SignIn(r.Context(), who.UserName, req.Password, limit.RemoteAddr(r.RemoteAddr)); err != nil {
		return err
	}
	spec.AuthLevel = newTokenLevel(r.Context())
	secret, tok, err := h.o.Tokens.Create(r.Context(), who.UserID, spec)
	if err != nil {
		return err
	}
	o := newTokenObject(tok)
	o.Token = secret
	return adapter.WriteJSON(w, http.StatusOK, o)
}

// A tokenRequest is the body of npm token create: npm 11 sends granular
// fields (packages, scopes, expires, permissions); older clients only
// password, readonly and cidr_whitelist.
type tokenRequest struct {
	Password     string   `json:"password"`
	Readonly     bool     `json:"readonly"`
	CIDR         []string `json:"cidr_whitelist"`
	Name         string   `json:"name"`
	Description  string   `json:"description"`
	Packages     []string `json:"packages"`
	PackagesAll  bool     `json:"packages_all"`
	Scopes       []string `json:"scopes"`
	Orgs         []string `json:"orgs"`
	Permission   string   `json:"packages_and_scopes_permission"`
	OrgsPerm     string   `json:"orgs_permission"`
	ExpiresDays  *int     `json:"expires"`
	BypassTwoFac bool     `json:"bypass_2fa"`
}

// spec returns the token the request asks for. It never manages tokens:
// a sign-in does that.
func (req *tokenRequest) spec() (access.Spec, error) {
	// Both kinds read private packages: a read-only token is what
	// automation installs them with (npm's own semantics).
	spec := access.Spec{Actions: []access.Action{access.Read, access.ReadPrivate, access.Publish, access.Yank}}
	if len(req.Orgs) > 0 || req.OrgsPerm != "" {
		return spec, trove.Error(trove.ErrInvalid, "organization tokens (--orgs) are not supported")
	}
	var err error
	if spec.CIDRs, err = access.ParseCIDRs(req.CIDR); err != nil {
		return spec, fmt.Errorf("--cidr: %w", err)
	}
	switch req.Permission {
	case "", "read-write":
	case "read-only":
		req.Readonly = true
	default:
		return spec, trove.Error(trove.ErrInvalid, "unknown permission %q (want read-only or read-write)", req.Permission)
	}
	if req.Readonly {
		spec.Actions = []access.Action{access.Read, access.ReadPrivate}
	}
	if spec.Packages, err = req.patterns(); err != nil {
		return spec, err
	}
	// Without expires the token gets the registry's default lifetime;
	// access.Tokens refuses one longer than its maximum.
	if req.ExpiresDays != nil {
		if *req.ExpiresDays < 1 {
			return spec, trove.Error(trove.ErrInvalid, "expires must be a number of days, at least 1")
		}
		spec.ExpiresAt = time.Now().Add(time.Duration(min(*req.ExpiresDays, 100*365)) * 24 * time.Hour)
	}
	spec.Description = strings.TrimSpace(req.Name + " " + req.Description)
	if spec.Description == "" {
		spec.Description = "npm token create"
	}
	if len(spec.Description) > 200 {
		return spec, trove.Error(trove.ErrInvalid, "the token name and description are longer than 200 bytes")
	}
	return spec, nil
}

// patterns returns the packages the request limits the token to.
func (req *tokenRequest) patterns() ([]access.Pattern, error) {
	if req.PackagesAll {
		return []access.Pattern{"npm:*"}, nil
	}
	var out []access.Pattern
	for _, p := range req.Packages {
		n, err := Rules{}.ParseName(p)
		if err != nil {
			return nil, trove.Error(trove.ErrInvalid, "packages: %w", err)
		}
		out = append(out, access.Pattern("npm:"+string(n)))
	}
	for _, s := range req.Scopes {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "@"), "/")
		if _, err := (Rules{}).ParseName("@" + s + "/x"); err != nil || s == "" {
			return nil, trove.Error(trove.ErrInvalid, "scopes: %q is not a scope like @acme", s)
		}
		out = append(out, access.Pattern("npm:@"+s+"/*"))
	}
	if len(out) == 0 {
		return []access.Pattern{"*"}, nil
	}
	return out, nil
}

// revokeToken serves DELETE /-/npm/v1/tokens/token/KEY.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, req request) error {
	who, err := h.needPrincipal(r.Context(), "npm token revoke")
	if err != nil {
		return err
	}
	if err := who.CheckManageTokens(); err != nil {
		return err
	}
	if err := h.revoke(r.Context(), who, req.arg, limit.RemoteAddr(r.RemoteAddr).String()); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, ok)
}
