package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/trove-dev/trove/internal/account"
)

// Changing the email address (docs/accounts.md). The profile's form
// (sudo mode) asks for the change: a link goes to the new address, a
// notice to the old one, and the account keeps its address meanwhile.
// The link opens GET /-/email-change?token=…, which changes nothing and
// shows a button whose POST makes the change: mail scanners that follow
// links cannot change an address on their own.

// emailChangeView is what the confirmation page shows.
type emailChangeView struct {
	Token string
	User  string // the account whose address changes
	Email string // the new address
	Done  bool
	Error string
}

// emailChange serves POST /-/account/email: a change of address is asked for.
func (h *Handler) emailChange(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Verify == nil {
		h.notFound(w, r)
		return nil
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	err := h.o.Verify.RequestChange(r.Context(), v.User, r.PostForm.Get("email"), client(r))
	if errors.Is(err, account.ErrInvalid) {
		av, verr := h.profileView(r, v)
		if verr != nil {
			return verr
		}
		av.Error = strings.TrimPrefix(err.Error(), account.ErrInvalid.Error()+": ")
		av.NewEmail = r.PostForm.Get("email")
		h.accountPage(w, r, http.StatusBadRequest, v, av)
		return nil
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/-/account?done=email-change")
}

// emailCancel serves POST /-/account/email/cancel: the pending change
// ends. Only a signed-in session is needed: cancelling protects.
func (h *Handler) emailCancel(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Verify == nil {
		h.notFound(w, r)
		return nil
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	if err := h.o.Verify.CancelChange(r.Context(), v.User, client(r)); err != nil {
		return err
	}
	return redirect(w, r, "/-/account?done=email-cancel")
}

// emailChangePage serves GET /-/email-change?token=S: what the link would
// change, and the button that does it.
func (h *Handler) emailChangePage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	noReferrer(w)
	tok := r.URL.Query().Get("token")
	if h.o.Verify == nil || !verifySecret.MatchString(tok) {
		h.page(w, r, http.StatusBadRequest, "emailchange", emailChangeView{Error: account.ErrBadLink.Error()})
		return nil
	}
	u, email, err := h.o.Verify.CheckChange(r.Context(), tok)
	if errors.Is(err, account.ErrBadLink) {
		h.page(w, r, http.StatusBadRequest, "emailchange", emailChangeView{Error: account.ErrBadLink.Error()})
		return nil
	}
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "emailchange", emailChangeView{Token: tok, User: u.Name, Email: email})
	return nil
}

// emailChangeSubmit serves POST /-/email-change: the confirmation.
func (h *Handler) emailChangeSubmit(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	noReferrer(w)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil || h.o.Verify == nil || !verifySecret.MatchString(r.PostForm.Get("token")) {
		h.page(w, r, http.StatusBadRequest, "emailchange", emailChangeView{Error: account.ErrBadLink.Error()})
		return nil
	}
	u, err := h.o.Verify.ConfirmChange(r.Context(), r.PostForm.Get("token"), client(r))
	if errors.Is(err, account.ErrBadLink) {
		h.page(w, r, http.StatusBadRequest, "emailchange", emailChangeView{Error: account.ErrBadLink.Error()})
		return nil
	}
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "emailchange", emailChangeView{Done: true, User: u.Name, Email: u.Email})
	return nil
}

// client says where a request came from, for security events: the
// client address and the browser's user agent.
func client(r *http.Request) string {
	d := device(r)
	return strings.TrimSpace(d.Client + " " + d.UserAgent)
}
