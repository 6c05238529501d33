package pypi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
)

// OIDC serves PyPI's trusted publishing exchange (protocols.md §2.9),
// which clients find at the root of the registry's host, not below the
// index: mount it at /_/oidc.
//
//	GET  /_/oidc/audience    → {"audience": "<the audience to ask the CI for>"}
//	POST /_/oidc/mint-token  {"token": "<ID token>"} → {"success": true, "token": "trove_…", "expires": <unix seconds>}
//
// A refused exchange answers 422 {"message": "Token request failed",
// "errors": [{"code", "description"}]}, which twine and the publishing
// action print; with trusted publishing off, 403 {"message": …}.
type OIDC struct {
	trust *trust.Service
	table adapter.Table[string, string]
}

// NewOIDC returns PyPI's exchange over t (nil or without issuers: off).
func NewOIDC(t *trust.Service) *OIDC {
	o := &OIDC{trust: t}
	o.table = adapter.Table[string, string]{
		{Route: adapter.NewRoute("oidc.audience", http.MethodGet, "/audience", adapter.Open), Kind: "audience", Serve: o.audience},
		{Route: adapter.NewRoute("oidc.mint", http.MethodPost, "/mint-token", adapter.SignIn), Kind: "mint-token", Serve: o.mint},
	}
	return o
}

// Routes lists the exchange's endpoints.
func (o *OIDC) Routes() []adapter.Route { return o.table.Routes() }

// Route maps a request to an endpoint.
func (o *OIDC) Route(r *http.Request) (string, adapter.Endpoint) {
	switch p := r.URL.EscapedPath(); p {
	case "/audience", "/mint-token":
		return o.table.Lookup(strings.TrimPrefix(p, "/"), r.Method, "")
	}
	return "", nil
}

// WriteError writes {"message": msg}, as PyPI does outside the 422s.
func (o *OIDC) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	adapter.WriteJSON(w, status, map[string]string{"message": msg})
}

func (o *OIDC) enabled() error {
	if !o.trust.Enabled() {
		return trove.Error(access.ErrDenied, "trusted publishing is not enabled on this registry")
	}
	return nil
}

func (o *OIDC) audience(w http.ResponseWriter, r *http.Request, _ string) error {
	if err := o.enabled(); err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"audience": o.trust.Audience()})
}

// maxMintBody bounds {"token": "…"}.
const maxMintBody = trust.MaxTokenBytes + 1024

func (o *OIDC) mint(w http.ResponseWriter, r *http.Request, _ string) error {
	if err := o.enabled(); err != nil {
		return err
	}
	b, err := adapter.ReadBody(w, r, maxMintBody, "token request")
	if err != nil {
		return err
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Token == "" {
		return refuse(w, "invalid-payload", `the body must be JSON like {"token": "<OIDC ID token>"}`)
	}
	m, err := o.trust.Exchange(r.Context(), body.Token, o.trust.Audience(), trove.PyPI, "")
	var te *trust.TokenError
	if errors.As(err, &te) {
		return refuse(w, te.Code, te.Msg)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return adapter.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "token": m.Token, "expires": m.ExpiresAt.Unix()})
}

// refuse writes PyPI's 422 for a refused exchange.
func refuse(w http.ResponseWriter, code, description string) error {
	type problem struct {
		Code        string `json:"code"`
		Description string `json:"description"`
	}
	return adapter.WriteJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Token request failed",
		"errors":  []problem{{Code: code, Description: description}},
	})
}
