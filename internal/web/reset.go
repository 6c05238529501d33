package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// Password reset by email (docs/security/account-recovery.md): /-/reset
// asks for a name or address and always answers the same; the mailed
// link opens /-/reset/confirm?token=…, which asks for the new password.

// resetView is what the reset pages show.
type resetView struct {
	Enabled bool
	Sent    bool   // the request was taken
	Who     string // what the visitor typed
	Token   string // the link's token, on the confirm page
	Name    string // the account the link is for, on the confirm page
	Error   string
}

// resetPage serves GET /-/reset.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	h.page(w, r, http.StatusOK, "reset", resetView{Enabled: h.o.Resets != nil})
	return nil
}

// resetSubmit serves POST /-/reset. The answer is the same whether or
// not an account matches; only an empty form or the address's rate limit
// differ, and neither tells anything about accounts.
func (h *Handler) resetSubmit(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	if h.o.Resets == nil {
		h.page(w, r, http.StatusNotFound, "reset", resetView{})
		return nil
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	view := resetView{Enabled: true, Who: r.PostForm.Get("who")}
	err := h.o.Resets.Start(r.Context(), view.Who, limit.RemoteAddr(r.RemoteAddr))
	switch {
	case errors.Is(err, account.ErrInvalid):
		view.Error = "Enter your user name or email address."
		h.page(w, r, http.StatusBadRequest, "reset", view)
		return nil
	case err != nil:
		return err
	}
	view.Sent = true
	h.page(w, r, http.StatusOK, "reset", view)
	return nil
}

// resetConfirmPage serves GET /-/reset/confirm?token=….
func (h *Handler) resetConfirmPage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	w.Header().Set("Cache-Control", "no-store")
	if h.o.Resets == nil {
		h.page(w, r, http.StatusNotFound, "reset", resetView{})
		return nil
	}
	token := r.URL.Query().Get("token")
	u, err := h.o.Resets.Check(r.Context(), token)
	if errors.Is(err, account.ErrResetInvalid) {
		h.page(w, r, http.StatusNotFound, "resetconfirm", resetView{Enabled: true, Error: resetInvalidText})
		return nil
	}
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "resetconfirm", resetView{Enabled: true, Token: token, Name: u.Name})
	return nil
}

const resetInvalidText = "This link is invalid, used or expired. Ask for a new one."

// resetConfirmSubmit serves POST /-/reset/confirm: the token and the new
// password twice. A refused password leaves the link usable.
func (h *Handler) resetConfirmSubmit(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	w.Header().Set("Cache-Control", "no-store")
	if h.o.Resets == nil {
		h.page(w, r, http.StatusNotFound, "reset", resetView{})
		return nil
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	view := resetView{Enabled: true, Token: f.Get("token")}
	u, err := h.o.Resets.Check(r.Context(), view.Token)
	if err == nil {
		view.Name = u.Name
		if f.Get("new") != f.Get("confirm") {
			view.Error = "The new password and its confirmation differ."
			h.page(w, r, http.StatusBadRequest, "resetconfirm", view)
			return nil
		}
		_, err = h.o.Resets.Complete(r.Context(), view.Token, f.Get("new"), limit.RemoteAddr(r.RemoteAddr))
	}
	switch {
	case errors.Is(err, account.ErrResetInvalid):
		h.page(w, r, http.StatusNotFound, "resetconfirm", resetView{Enabled: true, Error: resetInvalidText})
		return nil
	case errors.Is(err, account.ErrInvalid):
		view.Error = strings.TrimPrefix(err.Error(), account.ErrInvalid.Error()+": ")
		h.page(w, r, http.StatusBadRequest, "resetconfirm", view)
		return nil
	case errors.Is(err, trove.ErrTooMany):
		return err
	case err != nil:
		return err
	}
	return redirect(w, r, "/-/signin?reset=done")
}
