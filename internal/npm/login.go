package npm

import (
	"bytes"
	"net/http"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
)

// Browser login (npm login with auth-type=web, npm's default):
//
//	npm ─POST /-/v1/login──────────────► {loginUrl, doneUrl}
//	npm prints loginUrl; a person opens it, is sent to the web interface
//	(/-/npm-login/S), signs in there and confirms (internal/web)
//	npm ─GET doneUrl (every second)────► 202 {} … then 200 {"token": …}
//
// The login URL's secret is the only thing that ties the sign-in to the
// waiting client, so its pages are served with no-store and no-referrer.

// loginStart serves POST /-/v1/login.
//
// npm adduser sends {"create": true}. With open registration the account
// is created by the legacy flow, which asks for an email address: any 4xx
// here makes npm fall back to it. Otherwise adduser signs in like login.
func (h *Handler) loginStart(w http.ResponseWriter, r *http.Request, _ request) error {
	body, err := adapter.ReadBody(w, r, maxAccountBody, "the login request")
	if err != nil {
		return err
	}
	var req struct {
		Create bool `json:"create"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &req, "the login request"); err != nil {
			return err
		}
	}
	if req.Create && h.o.OpenRegistration {
		return trove.Error(trove.ErrUnsupported, "accounts are not created in the browser; npm asks for a user name, password and email instead")
	}
	loginID, doneID, err := h.o.Logins.Start(r.Context())
	if err != nil {
		return err
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{
		"loginUrl": h.o.BaseURL + "/-/v1/login/" + loginID,
		"doneUrl":  h.o.BaseURL + "/-/v1/done?sessionId=" + doneID,
	})
}

// loginPage serves GET /-/v1/login/S: it sends the person to the web
// interface's npm login page (/-/npm-login/S), which signs them in with
// the web sign-in (its throttle and second factor included) and asks them
// to confirm; that confirmation completes the login (Logins.Complete).
// The redirect has no-store and no-referrer: its URL holds the secret.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.o.Logins.Pending(r.Context(), req.arg); err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, "/-/npm-login/"+req.arg, http.StatusSeeOther)
	return nil
}

// loginDone serves GET /-/v1/done?sessionId=S, which npm polls.
func (h *Handler) loginDone(w http.ResponseWriter, r *http.Request, _ request) error {
	id := r.URL.Query().Get("sessionId")
	if !validSecret(id) {
		return account.ErrLoginNotFound
	}
	tok, err := h.o.Logins.Poll(r.Context(), id)
	if err != nil {
		return err
	}
	if tok == "" {
		// npm parses the body before it looks at the status: it must be JSON.
		w.Header().Set("Retry-After", "1")
		return adapter.WriteJSON(w, http.StatusAccepted, struct{}{})
	}
	return adapter.WriteJSON(w, http.StatusOK, map[string]string{"token": tok})
}
