package api

import (
	"net/http"
	"net/url"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// The MFA policy of a package (registry/mfa.go):
//
//	GET    /v1/packages/{eco}/{name}/policy    what changes to it need, and why
//	PUT    /v1/packages/{eco}/{name}/policy    {"publish_auth": "phishing-resistant", "trusted_only": true}: owners set either or both
//	PUT    /v1/packages/{eco}/{name}/critical  administrators mark it critical
//	DELETE /v1/packages/{eco}/{name}/critical  and clear the mark

// parsePolicy parses v1/packages/{eco}/{name}/{policy|critical}.
func parsePolicy(parts []string) (request, bool) {
	name, err := url.PathUnescape(parts[3])
	if err != nil || name == "" || parts[2] == "" {
		return request{}, false
	}
	return request{op: parts[4], target: trove.Target{Ecosystem: trove.Ecosystem(parts[2]), Name: name}}, true
}

// A policyView is a package's MFA policy as the API shows it.
type policyView struct {
	Needs    string `json:"needs"`
	Default  string `json:"default"`
	Override string `json:"override,omitempty"`
	Critical bool   `json:"critical"`
	Marked   bool   `json:"marked"`
	Ranked   bool   `json:"ranked"`
	// TrustedOnly: publishing needs a token minted by a trusted publisher.
	TrustedOnly bool `json:"trusted_only"`
}

func (h *Handler) policy(w http.ResponseWriter, r *http.Request, req request) error {
	p, err := h.o.Registry.Policy(r.Context(), req.target.Ecosystem, req.target.Name)
	if err != nil {
		return err
	}
	v := policyView{Needs: p.Needs.String(), Default: p.Default.String(), Critical: p.Marked || p.Ranked, Marked: p.Marked, Ranked: p.Ranked, TrustedOnly: p.TrustedOnly}
	if p.Override != trove.AuthNone {
		v.Override = p.Override.String()
	}
	return adapter.WriteJSON(w, http.StatusOK, v)
}

func (h *Handler) setPolicy(w http.ResponseWriter, r *http.Request, req request) error {
	var body struct {
		PublishAuth string `json:"publish_auth"`
		TrustedOnly *bool  `json:"trusted_only"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.PublishAuth == "" && body.TrustedOnly == nil {
		return trove.Error(trove.ErrInvalid, `the body sets nothing: give {"publish_auth": "mfa"} or {"trusted_only": true}, or both`)
	}
	who := access.PrincipalFrom(r.Context())
	if body.PublishAuth != "" {
		l, err := registry.ParseAuthLevel(body.PublishAuth)
		if err != nil {
			return err
		}
		if err := h.o.Registry.SetPublishAuth(r.Context(), who, req.target.Ecosystem, req.target.Name, l); err != nil {
			return err
		}
	}
	if body.TrustedOnly != nil {
		if err := h.o.Registry.SetTrustedOnly(r.Context(), who, req.target.Ecosystem, req.target.Name, *body.TrustedOnly); err != nil {
			return err
		}
	}
	return h.policy(w, r, req)
}

func (h *Handler) markCritical(w http.ResponseWriter, r *http.Request, req request) error {
	return h.setCritical(w, r, req, true)
}

func (h *Handler) unmarkCritical(w http.ResponseWriter, r *http.Request, req request) error {
	return h.setCritical(w, r, req, false)
}

func (h *Handler) setCritical(w http.ResponseWriter, r *http.Request, req request, marked bool) error {
	if err := h.o.Registry.SetCritical(r.Context(), access.PrincipalFrom(r.Context()), req.target.Ecosystem, req.target.Name, marked, h.o.Notice); err != nil {
		return err
	}
	return h.policy(w, r, req)
}
