package web

import (
	"errors"
	"net/http"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

// Sign-up ([accounts] signup; docs/mail.md): "closed" has no sign-up page
// (administrators create accounts); "invite" takes the links of
// administrators' invitations (trove admin invite EMAIL), whose address
// is verified by following the link; "open" takes anyone as well, and
// mails them a verification link.

// signupView is what the sign-up page shows.
type signupView struct {
	Invite string // the invitation's secret
	Email  string
	Name   string
	Open   bool // the address may be typed
	Done   string
	Mailed bool // a verification link was mailed
	Error  string
}

// signupForm returns the form for the request's invitation or open
// sign-up, or an error saying sign-up is closed or the link is bad.
func (h *Handler) signupForm(r *http.Request, invite string) (signupView, error) {
	mode := h.o.Signup
	if mode != "invite" && mode != "open" || h.o.Verify == nil {
		return signupView{}, trove.Error(trove.ErrNotFound, "sign-up is closed on this registry: ask an administrator for an account")
	}
	if invite == "" {
		if mode != "open" {
			return signupView{}, trove.Error(trove.ErrNotFound, "sign-up is by invitation on this registry: ask an administrator to invite you")
		}
		return signupView{Open: true}, nil
	}
	if !verifySecret.MatchString(invite) {
		return signupView{}, trove.Error(trove.ErrInvalid, "%w", account.ErrBadLink)
	}
	email, err := h.o.Verify.InvitedEmail(r.Context(), invite)
	if err != nil {
		return signupView{}, err
	}
	return signupView{Invite: invite, Email: email}, nil
}

// signupPage serves GET /-/signup[?invite=S].
func (h *Handler) signupPage(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	noReferrer(w)
	sv, err := h.signupForm(r, r.URL.Query().Get("invite"))
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "signup", sv)
	return nil
}

// signupSubmit serves POST /-/signup: creates the account.
func (h *Handler) signupSubmit(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	noReferrer(w)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := formError(r.ParseForm()); err != nil {
		return err
	}
	f := r.PostForm
	sv, err := h.signupForm(r, f.Get("invite"))
	if err != nil {
		return err
	}
	nu := account.NewUser{Name: f.Get("name"), Email: f.Get("email"), Password: f.Get("password")}
	var u *trove.User
	if sv.Invite != "" {
		u, err = h.o.Users.AcceptInvite(r.Context(), sv.Invite, nu)
	} else {
		u, err = h.o.Users.Create(r.Context(), nu)
	}
	if errors.Is(err, account.ErrInvalid) || errors.Is(err, account.ErrExists) {
		sv.Name, sv.Error = nu.Name, err.Error()
		if sv.Open {
			sv.Email = nu.Email
		}
		h.page(w, r, http.StatusBadRequest, "signup", sv)
		return nil
	}
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "signup", signupView{Done: u.Name, Mailed: sv.Invite == ""})
	return nil
}
