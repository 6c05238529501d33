package web

import (
	"net/http"
	"strings"
)

// npm's browser login, the web half (internal/npm/login.go has the
// protocol half): npm opens /npm/-/v1/login/S, which redirects here,
// to /-/npm-login/S. A visitor who is not signed in goes through the
// sign-in page (with its second factor, if any) and comes back; the page
// then asks them to confirm that they ran npm login themselves, and the
// confirmation (a POST, in sudo mode) completes the login: npm's next
// poll receives a token for the account.

// npmLoginPrefix is where npm's browser login ends up after the sign-in:
// /-/npm-login/<login secret>.
const npmLoginPrefix = "/-/npm-login/"

// npmLoginView is what the confirmation page shows.
type npmLoginView struct {
	Action string
}

// npmLoginPage serves GET /-/npm-login/{id}.
func (h *Handler) npmLoginPage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	id, ok := h.secretPage(w, r, h.o.Logins != nil)
	if !ok {
		return nil
	}
	if err := h.o.Logins.Pending(r.Context(), id); err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "npmlogin", npmLoginView{Action: npmLoginPrefix + id})
	return nil
}

// npmLoginConfirm serves POST /-/npm-login/{id}.
func (h *Handler) npmLoginConfirm(w http.ResponseWriter, r *http.Request, v *Visit) error {
	id, ok := h.secretPage(w, r, h.o.Logins != nil)
	if !ok {
		return nil
	}
	if err := h.o.Logins.Complete(r.Context(), id, v.User, v.Session.Level); err != nil {
		return err
	}
	return redirect(w, r, "/-/account?done=npm")
}

// secretPage starts a page whose path holds a secret ({id}: npm's login
// and OTP confirmations): it keeps the secret out of Referer headers and
// answers 404 (reporting false) when the feature is off or the id is not
// one.
func (h *Handler) secretPage(w http.ResponseWriter, r *http.Request, on bool) (string, bool) {
	noReferrer(w)
	id := r.PathValue("id")
	if !on || !validLoginID(id) {
		h.notFound(w, r)
		return "", false
	}
	return id, true
}

// validLoginID reports whether s looks like a login secret (64 hex
// digits), before anything looks it up.
func validLoginID(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
