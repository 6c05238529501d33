package web

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/netip"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// A SecondFactor is the sign-in's second step. The state machine
// (account.Sessions documents it): the password starts a session; if
// Required says the user has factors, the session is pending and the
// visitor is sent to /-/signin/factor, which only a pending session can
// reach and which Serve answers; when a factor passes, Serve returns the
// level it proves and the web interface ends the pending state
// (Sessions.Pass) and goes on to the page the visitor asked for.
type SecondFactor interface {
	// Required reports whether the user must pass a second factor after
	// their password.
	Required(ctx context.Context, u *trove.User) (bool, error)
	// Serve answers the second-factor step of a pending session: on GET
	// it writes the page asking for a factor and returns AuthNone; on
	// POST it checks what was sent and returns the level it proves, or
	// writes the page again with what went wrong and returns AuthNone. An
	// error is written as an error page.
	Serve(w http.ResponseWriter, r *http.Request, v *Visit) (trove.AuthLevel, error)
}

// maxForm bounds the body of every request to the web interface that is
// not a GET (guard): forms and the security keys' answers.
const maxForm = 64 << 10

// readForm parses a posted form within maxForm. Forms are URL-encoded:
// any other body is refused unread (ParseForm leaves multipart bodies
// alone, and PostFormValue would parse one, 32 MiB in memory and more on
// disk).
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return trove.Error(trove.ErrInvalid, "a form is sent as application/x-www-form-urlencoded, not %q; nothing changed", clip(ct))
	}
	return formError(r.ParseForm())
}

// formError words why a form could not be read, if it could not.
func formError(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return trove.Error(trove.ErrTooLarge, "the form is larger than %d KiB, so it was not read and nothing changed; send the page's own form", mbe.Limit>>10)
	}
	return trove.Error(trove.ErrInvalid, "the form could not be read, so nothing changed: %w", err)
}

// signinView is what the sign-in page shows.
type signinView struct {
	Next    string
	Name    string
	Error   string
	Purpose string // why the visitor is asked, e.g. for npm's login
}

// signinPage serves GET /-/signin.
func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	next := localPath(r.URL.Query().Get("next"), "/-/account")
	if v.SignedIn() {
		return redirect(w, r, next)
	}
	h.page(w, r, http.StatusOK, "signin", signinView{Next: next, Purpose: purposeOf(next)})
	return nil
}

// purposeOf says why a sign-in happens, for the page.
func purposeOf(next string) string {
	if len(next) > len(npmLoginPrefix) && next[:len(npmLoginPrefix)] == npmLoginPrefix {
		return "npm"
	}
	return ""
}

// signinSubmit serves POST /-/signin: name and password through
// Users.SignIn (its throttle applies), then a session, pending if a
// second factor is required.
func (h *Handler) signinSubmit(w http.ResponseWriter, r *http.Request, _ *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	next := localPath(r.PostForm.Get("next"), "/-/account")
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	view := signinView{Next: next, Name: name, Purpose: purposeOf(next)}
	if name == "" || password == "" {
		view.Error = "Enter your user name and password."
		h.page(w, r, http.StatusBadRequest, "signin", view)
		return nil
	}
	u, err := h.o.Users.SignIn(account.WithUserAgent(r.Context(), r.UserAgent()), name, password, limit.RemoteAddr(r.RemoteAddr))
	if err == nil && u.Disabled() {
		err = account.ErrBadCredentials
	}
	switch {
	case errors.Is(err, account.ErrBadCredentials):
		view.Error = "Wrong user name or password."
		h.page(w, r, http.StatusUnauthorized, "signin", view)
		return nil
	case err != nil:
		return err
	}
	pending, err := h.factorRequired(r.Context(), u)
	if err != nil {
		return err
	}
	secret, _, err := h.o.Sessions.Start(r.Context(), u, pending, device(r))
	if err != nil {
		return err
	}
	setSession(w, r, secret)
	switch {
	case pending:
		next = "/-/signin/factor?next=" + urlQuery(next)
	case u.PasswordReset:
		next = "/-/account/password"
	}
	return redirect(w, r, next)
}

func (h *Handler) factorRequired(ctx context.Context, u *trove.User) (bool, error) {
	if h.o.Factors == nil {
		return false, nil
	}
	return h.o.Factors.Required(ctx, u)
}

// device describes the request's client for the session list.
func device(r *http.Request) account.Device {
	addr := limit.RemoteAddr(r.RemoteAddr)
	client := ""
	if addr != (netip.Addr{}) {
		client = addr.String()
	}
	return account.Device{Client: client, UserAgent: r.UserAgent()}
}

// factorStep serves /-/signin/factor for a pending session.
func (h *Handler) factorStep(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if h.o.Factors == nil {
		// A session is pending only if Factors said so.
		return trove.Error(trove.ErrUnavailable, "this server has no second-factor step; sign in again")
	}
	level, err := h.o.Factors.Serve(w, r, v)
	if err != nil || level == trove.AuthNone {
		return err
	}
	if err := h.o.Sessions.Pass(r.Context(), v.Session, level); err != nil {
		return err
	}
	next := localPath(r.URL.Query().Get("next"), "/-/account")
	if v.User.PasswordReset {
		next = "/-/account/password"
	}
	return redirect(w, r, next)
}

// signout serves POST /-/signout: the session ends on the server.
func (h *Handler) signout(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if v.Session != nil {
		if err := h.o.Sessions.Revoke(r.Context(), v.User.ID, v.Session.ID); err != nil {
			return err
		}
	}
	clearSession(w, r)
	return redirect(w, r, "/")
}

// sudoView is what the re-authentication page shows.
type sudoView struct {
	Next  string
	Error string
}

// sudoPage serves GET /-/sudo: the password again, before a sensitive
// change.
func (h *Handler) sudoPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	next := localPath(r.URL.Query().Get("next"), "/-/account")
	h.page(w, r, http.StatusOK, "sudo", sudoView{Next: next})
	return nil
}

// sudoSubmit serves POST /-/sudo.
func (h *Handler) sudoSubmit(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	next := localPath(r.PostForm.Get("next"), "/-/account")
	_, err := h.o.Users.SignIn(r.Context(), v.User.Name, r.PostForm.Get("password"), limit.RemoteAddr(r.RemoteAddr))
	if errors.Is(err, account.ErrBadCredentials) {
		h.page(w, r, http.StatusUnauthorized, "sudo", sudoView{Next: next, Error: "Wrong password."})
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.o.Sessions.Sudo(r.Context(), v.Session); err != nil {
		return err
	}
	return redirect(w, r, next)
}
