package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

// The WebAuthn endpoints speak JSON with static/webauthn.js: …/begin
// answers {"token", "options"}; …/finish takes {"token", "credential"
// (PublicKeyCredential.toJSON()), "name", "next"} and answers
// {"redirect"} or, after a first factor, {"codes"} (the recovery codes,
// shown once). A refusal is {"error"} with the page's status. They are
// POSTs behind the same cross-origin protection as every form.

// maxCeremony bounds a WebAuthn answer's body.
const maxCeremony = 64 << 10

// ceremonyRequest is what webauthn.js posts to a …/finish endpoint.
type ceremonyRequest struct {
	Token      string          `json:"token"`
	Name       string          `json:"name"`
	Next       string          `json:"next"`
	Credential json.RawMessage `json:"credential"`
}

type ceremonyReply struct {
	Token    string          `json:"token,omitempty"`
	Options  json.RawMessage `json:"options,omitempty"`
	Redirect string          `json:"redirect,omitempty"`
	Codes    []string        `json:"codes,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// reply writes a JSON answer; it always returns nil (the answer is written).
func reply(w http.ResponseWriter, status int, v ceremonyReply) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
	return nil
}

// refuse answers an error as JSON: what the visitor can act on is said,
// anything else is logged and answered as an internal error.
func refuse(w http.ResponseWriter, r *http.Request, err error) error {
	status := statusOf(err)
	switch {
	case errors.Is(err, account.ErrWebAuthn), errors.Is(err, account.ErrClonedKey):
		status = http.StatusBadRequest
		if errors.Is(err, account.ErrClonedKey) {
			status = http.StatusForbidden
		}
	case errors.Is(err, account.ErrNoFactor):
		status = http.StatusBadRequest
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		slog.Error("serving a security key ceremony", "path", r.URL.Path, "err", err)
		msg = "internal error; try again, or tell this server's operators"
	}
	return reply(w, status, ceremonyReply{Error: msg})
}

func readCeremony(w http.ResponseWriter, r *http.Request) (ceremonyRequest, error) {
	var req ceremonyRequest
	r.Body = http.MaxBytesReader(w, r.Body, maxCeremony)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return req, trove.Error(trove.ErrInvalid, "the security key's answer could not be read: %w", err)
	}
	return req, nil
}

func begun(w http.ResponseWriter, r *http.Request, c *account.Ceremony, err error) error {
	if err != nil {
		return refuse(w, r, err)
	}
	return reply(w, http.StatusOK, ceremonyReply{Token: c.Token, Options: c.Options})
}

// keyRegisterBegin serves POST /-/account/security/key/begin.
func (h *Handler) keyRegisterBegin(w http.ResponseWriter, r *http.Request, v *Visit) error {
	c, err := h.o.MFA.BeginRegistration(r.Context(), v.User)
	return begun(w, r, c, err)
}

// keyRegisterFinish serves POST /-/account/security/key/finish.
func (h *Handler) keyRegisterFinish(w http.ResponseWriter, r *http.Request, v *Visit) error {
	req, err := readCeremony(w, r)
	if err != nil {
		return refuse(w, r, err)
	}
	_, codes, err := h.o.MFA.FinishRegistration(r.Context(), v.User, req.Token, req.Name, req.Credential, clientOf(r))
	if err != nil {
		return refuse(w, r, err)
	}
	return reply(w, http.StatusOK, ceremonyReply{Redirect: "/-/account/security", Codes: codes})
}

// keyLoginBegin serves POST /-/signin/factor/key/begin and
// /-/sudo/key/begin: a ceremony for one of the visitor's keys.
func (h *Handler) keyLoginBegin(w http.ResponseWriter, r *http.Request, v *Visit) error {
	c, err := h.o.MFA.BeginLogin(r.Context(), v.User)
	return begun(w, r, c, err)
}

// keyLoginFinish serves POST /-/signin/factor/key/finish: the second
// step passed with a security key.
func (h *Handler) keyLoginFinish(w http.ResponseWriter, r *http.Request, v *Visit) error {
	req, err := readCeremony(w, r)
	if err == nil {
		err = h.o.MFA.FinishLogin(r.Context(), v.User, req.Token, req.Credential, clientOf(r))
	}
	if err == nil {
		err = h.o.Sessions.Pass(r.Context(), v.Session, trove.AuthPhishingResistant)
	}
	if err != nil {
		return refuse(w, r, err)
	}
	next := localPath(req.Next, "/-/account")
	if v.User.PasswordReset {
		next = "/-/account/password"
	}
	return reply(w, http.StatusOK, ceremonyReply{Redirect: next})
}

// sudoKeyFinish serves POST /-/sudo/key/finish.
func (h *Handler) sudoKeyFinish(w http.ResponseWriter, r *http.Request, v *Visit) error {
	req, err := readCeremony(w, r)
	if err == nil {
		err = h.o.MFA.FinishLogin(r.Context(), v.User, req.Token, req.Credential, clientOf(r))
	}
	if err == nil {
		err = h.o.Sessions.Sudo(r.Context(), v.Session)
	}
	if err != nil {
		return refuse(w, r, err)
	}
	return reply(w, http.StatusOK, ceremonyReply{Redirect: localPath(req.Next, "/-/account")})
}

// passkeyBegin serves POST /-/signin/passkey/begin: passwordless sign-in.
func (h *Handler) passkeyBegin(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	c, err := h.o.MFA.BeginPasskeyLogin(r.Context())
	return begun(w, r, c, err)
}

// passkeyFinish serves POST /-/signin/passkey/finish: the passkey names
// its user, whose new session is AuthPhishingResistant at once.
func (h *Handler) passkeyFinish(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	req, err := readCeremony(w, r)
	if err != nil {
		return refuse(w, r, err)
	}
	u, err := h.o.MFA.FinishPasskeyLogin(r.Context(), req.Token, req.Credential, clientOf(r))
	if err != nil {
		return refuse(w, r, err)
	}
	// The session starts pending and passes at once: one path for every
	// sign-in's level.
	secret, ses, err := h.o.Sessions.Start(r.Context(), u, true, device(r))
	if err == nil {
		err = h.o.Sessions.Pass(r.Context(), ses, trove.AuthPhishingResistant)
	}
	if err != nil {
		return refuse(w, r, err)
	}
	setSession(w, r, secret)
	next := localPath(req.Next, "/-/account")
	if u.PasswordReset {
		next = "/-/account/password"
	}
	return reply(w, http.StatusOK, ceremonyReply{Redirect: next})
}
