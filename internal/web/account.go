package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/trove"
)

// accountView is what every account page shows: which tab, and the
// tab's own data.
type accountView struct {
	Tab     string
	Message string // what just happened
	Error   string
	User    *trove.User

	Tokens   []*trove.Token
	Secret   string // a token just created, shown once
	Actions  []access.Action
	MaxDays  int
	Sessions []*account.Session
	Current  int64 // the visitor's session id
	Events   []account.Event
	NoEvents bool // the server does not record events yet
	Audit    auditView
	Reset    bool // an administrator asked for a new password

	// The profile's email address: whether it is verified, a pending
	// change, and whether this server verifies addresses at all (Verify).
	EmailVerified bool
	Pending       *account.PendingEmail
	CanVerify     bool
	NewEmail      string // the change form's value, after an error
}

func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request, status int, v *Visit, av accountView) {
	av.User = v.User
	h.page(w, r, status, "account", av)
}

// profile serves GET /-/account.
func (h *Handler) profile(w http.ResponseWriter, r *http.Request, v *Visit) error {
	av, err := h.profileView(r, v)
	if err != nil {
		return err
	}
	av.Message = messageOf(r)
	h.accountPage(w, r, http.StatusOK, v, av)
	return nil
}

// profileView reads what the profile shows besides the user.
func (h *Handler) profileView(r *http.Request, v *Visit) (accountView, error) {
	av := accountView{Tab: "profile", CanVerify: h.o.Verify != nil}
	if h.o.Verify == nil {
		return av, nil
	}
	var err error
	if av.EmailVerified, err = h.o.Verify.Verified(r.Context(), v.User.ID); err != nil {
		return av, err
	}
	av.Pending, err = h.o.Verify.PendingChange(r.Context(), v.User.ID)
	return av, err
}

// messages are the confirmations a redirect after a change names (?done=).
var messages = map[string]string{
	"email":        "Your email visibility was saved.",
	"email-change": "We mailed a link to your new address: your address changes when you follow it (within 24 hours). Your current address was told.",
	"email-cancel": "The change of your email address was cancelled: its link no longer works.",
	"verify-email": "A new verification link is on its way to your address.",
	"password":     "Your password was changed, and your other sessions were signed out.",
	"revoked":      "The token was revoked.",
	"session":      "The session was signed out.",
	"others":       "Your other sessions were signed out.",
	"npm":          "npm is signed in: it receives its token in a moment. You can close this window.",
}

func messageOf(r *http.Request) string { return messages[r.URL.Query().Get("done")] }

// publicEmail serves POST /-/account/public-email.
func (h *Handler) publicEmail(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	if _, err := h.o.Users.SetPublicEmail(r.Context(), v.User.Name, r.PostForm.Get("public") == "on"); err != nil {
		return err
	}
	return redirect(w, r, "/-/account?done=email")
}

// passwordPage serves GET /-/account/password.
func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	h.accountPage(w, r, http.StatusOK, v, accountView{Tab: "password", Reset: v.User.PasswordReset})
	return nil
}

// passwordSubmit serves POST /-/account/password: the current password,
// the new one twice. Every other session of the user ends.
func (h *Handler) passwordSubmit(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	av := accountView{Tab: "password", Reset: v.User.PasswordReset}
	if f.Get("new") != f.Get("confirm") {
		av.Error = "The new password and its confirmation differ."
		h.accountPage(w, r, http.StatusBadRequest, v, av)
		return nil
	}
	err := h.o.Users.ChangePassword(r.Context(), v.User, f.Get("current"), f.Get("new"), device(r))
	if errors.Is(err, account.ErrInvalid) {
		av.Error = strings.TrimPrefix(err.Error(), account.ErrInvalid.Error()+": ")
		h.accountPage(w, r, http.StatusBadRequest, v, av)
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := h.o.Sessions.RevokeAll(r.Context(), v.User.ID, v.Session.ID); err != nil {
		return err
	}
	h.notify(r, account.EventPasswordChanged, v.User.ID, "password changed on the web")
	return redirect(w, r, "/-/account?done=password")
}

// notify tells the Notifier about a security event; a failure is logged
// by the notifier's caller contract, not shown: the change happened.
func (h *Handler) notify(r *http.Request, kind account.EventKind, userID int64, detail string) {
	if h.o.Notifier == nil {
		return
	}
	d := device(r)
	e := account.Event{Kind: kind, UserID: userID, Detail: detail, Client: d.Client + " " + d.UserAgent, At: h.o.Now().UTC()}
	if err := h.o.Notifier.Notify(r.Context(), e); err != nil {
		logError(r, "recording a security event", err)
	}
}

// tokensPage serves GET /-/account/tokens.
func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	return h.showTokens(w, r, http.StatusOK, v, accountView{Message: messageOf(r)})
}

func (h *Handler) showTokens(w http.ResponseWriter, r *http.Request, status int, v *Visit, av accountView) error {
	toks, err := h.o.Tokens.List(r.Context(), v.User.ID)
	if err != nil {
		return err
	}
	av.Tab, av.Tokens, av.Actions = "tokens", toks, access.Actions
	av.MaxDays = int(h.o.Tokens.Lifetimes().Max / (24 * time.Hour))
	h.accountPage(w, r, status, v, av)
	return nil
}

// createToken serves POST /-/account/tokens: the secret is shown once,
// on this response (no-store, no-referrer).
func (h *Handler) createToken(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	spec, err := tokenSpec(r, h.o.Now(), h.patterns)
	spec.AuthLevel = v.Session.Level // how this session signed in: the MFA policy reads it
	if err == nil {
		var secret string
		secret, _, err = h.o.Tokens.Create(r.Context(), v.User.ID, spec)
		if err == nil {
			h.notify(r, account.EventTokenCreated, v.User.ID, `token "`+spec.Description+`"`)
			noReferrer(w)
			return h.showTokens(w, r, http.StatusOK, v, accountView{Secret: secret})
		}
	}
	if errors.Is(err, trove.ErrInvalid) {
		return h.showTokens(w, r, http.StatusBadRequest, v, accountView{Error: err.Error()})
	}
	return err
}

// tokenSpec reads the token form.
func tokenSpec(r *http.Request, now time.Time, parse func(string) (access.Pattern, error)) (access.Spec, error) {
	f := r.PostForm
	spec := access.Spec{Description: strings.TrimSpace(f.Get("description"))}
	if spec.Description == "" {
		return spec, trove.Error(trove.ErrInvalid, "describe the token, such as where it is used")
	}
	for _, s := range strings.FieldsFunc(f.Get("packages"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' }) {
		p, err := parse(s)
		if err != nil {
			return spec, trove.Error(trove.ErrInvalid, "%w", err)
		}
		spec.Packages = append(spec.Packages, p)
	}
	for _, s := range f["actions"] {
		a, err := access.ParseAction(s)
		if err != nil {
			return spec, trove.Error(trove.ErrInvalid, "%w", err)
		}
		spec.Actions = append(spec.Actions, a)
	}
	cidrs, err := access.ParseCIDRs(strings.FieldsFunc(f.Get("cidrs"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' }))
	if err != nil {
		return spec, err
	}
	spec.CIDRs = cidrs
	days, err := strconv.Atoi(f.Get("days"))
	if err != nil || days < 1 {
		return spec, trove.Error(trove.ErrInvalid, "the token's lifetime must be a whole number of days, at least 1")
	}
	spec.ExpiresAt = now.Add(time.Duration(days) * 24 * time.Hour)
	return spec, nil
}

// patterns parses a package pattern with Options.Patterns.
func (h *Handler) patterns(s string) (access.Pattern, error) {
	if h.o.Patterns == nil {
		return access.ParsePattern(s)
	}
	return h.o.Patterns(s)
}

// revokeToken serves POST /-/account/tokens/revoke.
func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	if err := h.o.Tokens.Revoke(r.Context(), v.User.ID, r.PostForm.Get("id"), access.Revocation{By: v.User.Name, Client: clientOf(r)}); err != nil {
		return err
	}
	return redirect(w, r, "/-/account/tokens?done=revoked")
}

// sessionsPage serves GET /-/account/sessions.
func (h *Handler) sessionsPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	list, err := h.o.Sessions.List(r.Context(), v.User.ID)
	if err != nil {
		return err
	}
	h.accountPage(w, r, http.StatusOK, v, accountView{Tab: "sessions", Sessions: list, Current: v.Session.ID, Message: messageOf(r)})
	return nil
}

// revokeSession serves POST /-/account/sessions/revoke: one session
// (id), or every other one (id=others).
func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	id := r.PostForm.Get("id")
	if id == "others" {
		if _, err := h.o.Sessions.RevokeAll(r.Context(), v.User.ID, v.Session.ID); err != nil {
			return err
		}
		return redirect(w, r, "/-/account/sessions?done=others")
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return trove.Error(trove.ErrInvalid, "no session %q", id)
	}
	if err := h.o.Sessions.Revoke(r.Context(), v.User.ID, n); err != nil {
		return err
	}
	if n == v.Session.ID {
		clearSession(w, r)
		return redirect(w, r, "/")
	}
	return redirect(w, r, "/-/account/sessions?done=session")
}

// eventsPage serves GET /-/account/events.
func (h *Handler) eventsPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	av := accountView{Tab: "events", NoEvents: h.o.Events == nil}
	if h.o.Events != nil {
		var err error
		if av.Events, err = h.o.Events.List(r.Context(), v.User.ID, 100); err != nil {
			return err
		}
	}
	h.accountPage(w, r, http.StatusOK, v, av)
	return nil
}
