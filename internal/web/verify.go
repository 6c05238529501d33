package web

import (
	"net/http"
	"regexp"

	"github.com/trove-dev/trove/internal/account"
)

// Email verification pages (docs/mail.md). The link in the mail opens
// GET /-/verify-email?token=…, which changes nothing: it shows a button
// whose POST uses the secret. Mail scanners that follow links therefore
// cannot verify an address on their own.

// verifyView is what the verification page shows.
type verifyView struct {
	Token string
	Done  string // the user whose address was verified
	Error string
}

// verifySecret is the shape of a link's secret: 32 bytes, base64url.
var verifySecret = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// verifyPage serves GET /-/verify-email?token=S.
func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	noReferrer(w)
	tok := r.URL.Query().Get("token")
	if h.o.Verify == nil || !verifySecret.MatchString(tok) {
		h.page(w, r, http.StatusBadRequest, "verify", verifyView{Error: account.ErrBadLink.Error()})
		return nil
	}
	h.page(w, r, http.StatusOK, "verify", verifyView{Token: tok})
	return nil
}

// verifySubmit serves POST /-/verify-email: the confirmation.
func (h *Handler) verifySubmit(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	noReferrer(w)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil || h.o.Verify == nil || !verifySecret.MatchString(r.PostForm.Get("token")) {
		h.page(w, r, http.StatusBadRequest, "verify", verifyView{Error: account.ErrBadLink.Error()})
		return nil
	}
	u, err := h.o.Verify.Verify(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		h.page(w, r, http.StatusBadRequest, "verify", verifyView{Error: account.ErrBadLink.Error()})
		return nil
	}
	h.page(w, r, http.StatusOK, "verify", verifyView{Done: u.Name})
	return nil
}

// verifyResend serves POST /-/account/verify-email: a new link to the
// signed-in user's address (the per-recipient mail limit applies).
func (h *Handler) verifyResend(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Verify == nil {
		h.notFound(w, r)
		return nil
	}
	if err := h.o.Verify.Resend(r.Context(), v.User); err != nil {
		return err
	}
	return redirect(w, r, "/-/account?done=verify-email")
}
