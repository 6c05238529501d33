package web

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// Second factors on the web (account.Factors does the work):
//
//   - /-/account/security lists the visitor's factors and recovery codes;
//     adding a factor, removing one and new recovery codes need sudo mode,
//     renaming does not.
//   - The sign-in's second step (/-/signin/factor) takes a TOTP code, a
//     recovery code or a security key; "Sign in with a passkey" on the
//     sign-in page signs in without a password.
//   - /-/sudo/factor re-authenticates with a factor instead of the
//     password.
//
// The WebAuthn ceremonies run in static/webauthn.js, which posts JSON to
// the …/begin and …/finish endpoints (webauthnjson.go). A session signed
// in with a security key or passkey is AuthPhishingResistant, one with a
// TOTP or recovery code AuthMFA.

// factorRoutes are the second-factor pages, for the route table.
func (h *Handler) factorRoutes() []route {
	if h.o.MFA == nil {
		return nil
	}
	return []route{
		{"security", "GET", "/-/account/security", Member, h.securityPage},
		{"security.totp", "POST", "/-/account/security/totp", Sudo, h.totpBegin},
		{"security.totp.confirm", "POST", "/-/account/security/totp/confirm", Sudo, h.totpConfirm},
		{"security.rename", "POST", "/-/account/security/{id}/rename", Member, h.factorRename},
		{"security.remove", "POST", "/-/account/security/{id}/remove", Sudo, h.factorRemove},
		{"security.recovery", "POST", "/-/account/security/recovery", Sudo, h.recoveryRegenerate},
		{"security.key.begin", "POST", "/-/account/security/key/begin", Sudo, h.keyRegisterBegin},
		{"security.key.finish", "POST", "/-/account/security/key/finish", Sudo, h.keyRegisterFinish},
		{"signin.key.begin", "POST", "/-/signin/factor/key/begin", Pending, h.keyLoginBegin},
		{"signin.key.finish", "POST", "/-/signin/factor/key/finish", Pending, h.keyLoginFinish},
		{"signin.passkey.begin", "POST", "/-/signin/passkey/begin", Credentials, h.passkeyBegin},
		{"signin.passkey.finish", "POST", "/-/signin/passkey/finish", Credentials, h.passkeyFinish},
		{"sudo.factor", "GET", "/-/sudo/factor", Member, h.sudoFactorPage},
		{"sudo.factor.submit", "POST", "/-/sudo/factor", Member, h.sudoFactorSubmit},
		{"sudo.key.begin", "POST", "/-/sudo/key/begin", Member, h.keyLoginBegin},
		{"sudo.key.finish", "POST", "/-/sudo/key/finish", Member, h.sudoKeyFinish},
	}
}

// factorStep is the sign-in's second step over account.Factors.
type factorStep struct{ h *Handler }

// Required reports whether the user holds a second factor.
func (s factorStep) Required(ctx context.Context, u *trove.User) (bool, error) {
	fs, err := s.h.o.MFA.List(ctx, u.ID)
	return len(fs) > 0, err
}

// factorChoice is what the second step and the sudo page offer.
type factorChoice struct {
	Next   string
	Error  string
	Code   bool   // a TOTP or recovery code
	Key    bool   // a security key
	KeysAt string // the origin the user's keys work at, when not here
	Action string
	Begin  string
	Finish string
}

func (h *Handler) choices(r *http.Request, userID int64, next string) (factorChoice, error) {
	ctx := r.Context()
	c := factorChoice{Next: next}
	fs, err := h.o.MFA.List(ctx, userID)
	if err != nil {
		return c, err
	}
	for _, f := range fs {
		switch {
		case f.Kind == meta.FactorTOTP:
			c.Code = true
		case !f.CloneWarning:
			c.Key = true
		}
	}
	if o := h.o.MFA.WebAuthnOrigin(); c.Key && !sameHost(o, r.Host) {
		c.Key, c.KeysAt = false, o
	}
	left, err := h.o.MFA.RecoveryCodesLeft(ctx, userID)
	c.Code = c.Code || left > 0
	return c, err
}

// Serve answers /-/signin/factor: GET shows the choices, POST checks a
// code (a security key goes through keyLoginBegin/Finish instead).
func (s factorStep) Serve(w http.ResponseWriter, r *http.Request, v *Visit) (trove.AuthLevel, error) {
	h := s.h
	next := localPath(r.URL.Query().Get("next"), "/-/account")
	c, err := h.choices(r, v.User.ID, next)
	if err != nil {
		return trove.AuthNone, err
	}
	c.Action, c.Begin, c.Finish = "/-/signin/factor?next="+urlQuery(next), "/-/signin/factor/key/begin", "/-/signin/factor/key/finish"
	if r.Method != http.MethodPost {
		h.page(w, r, http.StatusOK, "factors_signin", c)
		return trove.AuthNone, nil
	}
	if err := readForm(w, r); err != nil {
		return trove.AuthNone, err
	}
	err = h.o.MFA.VerifyCode(r.Context(), v.User.ID, r.PostForm.Get("code"), limit.RemoteAddr(r.RemoteAddr))
	if msg, ok := codeRefusal(w, err); ok {
		c.Error = msg
		h.page(w, r, codeStatus(err), "factors_signin", c)
		return trove.AuthNone, nil
	}
	if err != nil {
		return trove.AuthNone, err
	}
	return trove.AuthMFA, nil
}

// codeStatus is the status of a page refusing a code.
func codeStatus(err error) int {
	if errors.Is(err, account.ErrThrottled) {
		return http.StatusTooManyRequests
	}
	return http.StatusUnauthorized
}

// codeRefusal words a refused code for the page (and says when to
// retry a throttled one).
func codeRefusal(w http.ResponseWriter, err error) (string, bool) {
	if s, ok := trove.RetryAfter(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	switch {
	case errors.Is(err, account.ErrBadCode):
		return "That code is wrong or was used already. Enter the current code from your app, or a recovery code.", true
	case errors.Is(err, account.ErrThrottled):
		return err.Error(), true
	}
	return "", false
}

// securityView is what /-/account/security shows.
type securityView struct {
	Factors   []account.Factor
	CodesLeft int
	KeysError string // why security keys cannot be added here, if they cannot
	Notice    string
	Codes     []string // new recovery codes, shown once
	Enrol     *totpView
	Error     string
	Sudo      bool
}

type totpView struct {
	FactorID int64
	Name     string
	Secret   string
	QR       template.URL
}

func (h *Handler) security(r *http.Request, v *Visit) (securityView, error) {
	ctx := r.Context()
	var sv securityView
	var err error
	if sv.Factors, err = h.o.MFA.List(ctx, v.User.ID); err != nil {
		return sv, err
	}
	if sv.CodesLeft, err = h.o.MFA.RecoveryCodesLeft(ctx, v.User.ID); err != nil {
		return sv, err
	}
	if err := h.o.MFA.WebAuthnAvailable(); err != nil {
		sv.KeysError = err.Error()
	} else if o := h.o.MFA.WebAuthnOrigin(); !sameHost(o, r.Host) {
		sv.KeysError = "Security keys are bound to " + o + ": open " + o + "/-/account/security to add one."
	}
	sv.Sudo = h.o.Sessions.InSudo(v.Session)
	return sv, nil
}

// securityPage serves GET /-/account/security.
func (h *Handler) securityPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	sv, err := h.security(r, v)
	if err != nil {
		return err
	}
	h.page(w, r, http.StatusOK, "factors", sv)
	return nil
}

// securityAgain shows the security page with a message or new codes.
func (h *Handler) securityAgain(w http.ResponseWriter, r *http.Request, v *Visit, status int, edit func(*securityView)) error {
	sv, err := h.security(r, v)
	if err != nil {
		return err
	}
	edit(&sv)
	h.page(w, r, status, "factors", sv)
	return nil
}

// totpBegin serves POST /-/account/security/totp: a new secret and its
// QR code, and a form for the first code.
func (h *Handler) totpBegin(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	name := r.PostForm.Get("name")
	e, err := h.o.MFA.BeginTOTP(r.Context(), v.User, name)
	if errors.Is(err, account.ErrInvalid) {
		return h.securityAgain(w, r, v, http.StatusBadRequest, func(sv *securityView) { sv.Error = err.Error() })
	}
	if err != nil {
		return err
	}
	qr := template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QR))
	return h.securityAgain(w, r, v, http.StatusOK, func(sv *securityView) {
		sv.Enrol = &totpView{FactorID: e.FactorID, Name: name, Secret: e.Secret, QR: qr}
	})
}

// totpConfirm serves POST /-/account/security/totp/confirm.
func (h *Handler) totpConfirm(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	id, _ := strconv.ParseInt(r.PostForm.Get("factor"), 10, 64)
	codes, err := h.o.MFA.ConfirmTOTP(r.Context(), v.User.ID, id, r.PostForm.Get("code"), clientOf(r))
	switch {
	case errors.Is(err, account.ErrBadCode):
		return h.securityAgain(w, r, v, http.StatusBadRequest, func(sv *securityView) {
			sv.Error = "That code is wrong: the app was not added. Scan the code again and enter the current code."
			sv.Enrol = &totpView{FactorID: id, Name: r.PostForm.Get("name"), Secret: r.PostForm.Get("secret")}
		})
	case errors.Is(err, account.ErrNoFactor):
		return h.securityAgain(w, r, v, http.StatusBadRequest, func(sv *securityView) { sv.Error = err.Error() })
	case err != nil:
		return err
	}
	return h.securityAgain(w, r, v, http.StatusOK, func(sv *securityView) {
		sv.Notice, sv.Codes = "Authenticator app added.", codes
	})
}

func factorID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, trove.Error(trove.ErrNotFound, "no such factor")
	}
	return id, nil
}

// factorRename serves POST /-/account/security/{id}/rename.
func (h *Handler) factorRename(w http.ResponseWriter, r *http.Request, v *Visit) error {
	id, err := factorID(r)
	if err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	err = h.o.MFA.Rename(r.Context(), v.User.ID, id, r.PostForm.Get("name"))
	if errors.Is(err, account.ErrInvalid) {
		return h.securityAgain(w, r, v, http.StatusBadRequest, func(sv *securityView) { sv.Error = err.Error() })
	}
	if errors.Is(err, account.ErrNoFactor) {
		return trove.Error(trove.ErrNotFound, "%w", err)
	}
	if err != nil {
		return err
	}
	return redirect(w, r, "/-/account/security")
}

// factorRemove serves POST /-/account/security/{id}/remove (sudo).
func (h *Handler) factorRemove(w http.ResponseWriter, r *http.Request, v *Visit) error {
	id, err := factorID(r)
	if err != nil {
		return err
	}
	left, err := h.o.MFA.Remove(r.Context(), v.User.ID, id, clientOf(r))
	if errors.Is(err, account.ErrNoFactor) {
		return trove.Error(trove.ErrNotFound, "%w", err)
	}
	if err != nil {
		return err
	}
	return h.securityAgain(w, r, v, http.StatusOK, func(sv *securityView) {
		sv.Notice = "Factor removed."
		if left == 0 {
			sv.Notice = "Factor removed. You have no second factor now, and your recovery codes were deleted: your password alone protects your account, and you need a factor again to publish where one is required."
		}
	})
}

// recoveryRegenerate serves POST /-/account/security/recovery (sudo).
func (h *Handler) recoveryRegenerate(w http.ResponseWriter, r *http.Request, v *Visit) error {
	codes, err := h.o.MFA.NewRecoveryCodes(r.Context(), v.User.ID, clientOf(r))
	if errors.Is(err, account.ErrNoFactor) {
		return h.securityAgain(w, r, v, http.StatusBadRequest, func(sv *securityView) { sv.Error = err.Error() })
	}
	if err != nil {
		return err
	}
	return h.securityAgain(w, r, v, http.StatusOK, func(sv *securityView) {
		sv.Notice, sv.Codes = "New recovery codes made: the old ones no longer work.", codes
	})
}

// sudoFactorPage serves GET /-/sudo/factor: re-authentication with a
// factor instead of the password.
func (h *Handler) sudoFactorPage(w http.ResponseWriter, r *http.Request, v *Visit) error {
	next := localPath(r.URL.Query().Get("next"), "/-/account")
	c, err := h.choices(r, v.User.ID, next)
	if err != nil {
		return err
	}
	c.Action, c.Begin, c.Finish = "/-/sudo/factor?next="+urlQuery(next), "/-/sudo/key/begin", "/-/sudo/key/finish"
	h.page(w, r, http.StatusOK, "factors_sudo", c)
	return nil
}

// sudoFactorSubmit serves POST /-/sudo/factor with a code.
func (h *Handler) sudoFactorSubmit(w http.ResponseWriter, r *http.Request, v *Visit) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	next := localPath(r.URL.Query().Get("next"), "/-/account")
	err := h.o.MFA.VerifyCode(r.Context(), v.User.ID, r.PostForm.Get("code"), limit.RemoteAddr(r.RemoteAddr))
	if msg, ok := codeRefusal(w, err); ok {
		c, cerr := h.choices(r, v.User.ID, next)
		if cerr != nil {
			return cerr
		}
		c.Action, c.Begin, c.Finish, c.Error = "/-/sudo/factor?next="+urlQuery(next), "/-/sudo/key/begin", "/-/sudo/key/finish", msg
		h.page(w, r, codeStatus(err), "factors_sudo", c)
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

// clientOf describes where a change came from, for security events.
func clientOf(r *http.Request) string {
	d := device(r)
	if d.UserAgent == "" {
		return d.Client
	}
	return d.Client + " (" + d.UserAgent + ")"
}

// passkeys reports whether passkey sign-in is offered.
func (h *Handler) passkeys(v *Visit) bool {
	return h.o.MFA != nil && h.o.MFA.WebAuthnAvailable() == nil && sameHost(h.o.MFA.WebAuthnOrigin(), v.Host)
}

// keysAt returns the origin security keys work at when the visitor came
// to another (127.0.0.1 when keys are bound to localhost), "" otherwise.
func (h *Handler) keysAt(v *Visit) string {
	if h.o.MFA == nil || h.o.MFA.WebAuthnAvailable() != nil {
		return ""
	}
	if o := h.o.MFA.WebAuthnOrigin(); !sameHost(o, v.Host) {
		return o
	}
	return ""
}

// sameHost reports whether origin (scheme://host[:port]) names host.
func sameHost(origin, host string) bool {
	_, h, _ := strings.Cut(origin, "://")
	return h == host
}
