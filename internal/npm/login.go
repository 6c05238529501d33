package npm

import (
	"bytes"
	"log/slog"
	"net/http"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// Browser login (npm login with auth-type=web, npm's default):
//
//	npm ─POST /-/v1/login──────────────► {loginUrl, doneUrl}
//	npm prints loginUrl; a person opens it, signs in with name and password
//	npm ─GET doneUrl (every second)────► 202 {} … then 200 {"token": …}
//
// The login URL's secret is the only thing that ties the sign-in to the
// waiting client, so the page is served with no-store, no-referrer, and
// a policy that forbids framing and scripts.

// maxLoginForm bounds the sign-in form's body.
const maxLoginForm = 16 << 10

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

// loginPage serves GET /-/v1/login/S: the sign-in form.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.o.Logins.Pending(r.Context(), req.arg); err != nil {
		return err
	}
	h.renderLoginPage(w, http.StatusOK, loginView{Form: true})
	return nil
}

// loginSubmit serves POST /-/v1/login/S: the filled-in form. Wrong
// credentials come back as the form with a generic error (WriteError).
func (h *Handler) loginSubmit(w http.ResponseWriter, r *http.Request, req request) error {
	if err := h.o.Logins.Pending(r.Context(), req.arg); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		return trove.Error(trove.ErrInvalid, "the form could not be read: %w", err)
	}
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	if name == "" || password == "" {
		return trove.Error(trove.ErrInvalid, "enter your user name and password")
	}
	user, err := h.o.Users.SignIn(account.WithUserAgent(r.Context(), r.UserAgent()), name, password, limit.RemoteAddr(r.RemoteAddr))
	if err != nil {
		return err
	}
	if err := h.o.Logins.Complete(r.Context(), req.arg, user); err != nil {
		return err
	}
	h.renderLoginPage(w, http.StatusOK, loginView{Done: true, User: user.Name})
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

// loginView is what the sign-in page shows.
type loginView struct {
	Form  bool   // show the form
	Error string // a message above it
	Done  bool   // the sign-in worked
	User  string
}

// renderLoginPage writes the sign-in page with status.
func (h *Handler) renderLoginPage(w http.ResponseWriter, status int, v loginView) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, "login", v); err != nil {
		slog.Error("rendering the login page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

const loginHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sign in to Trove for npm</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 26rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; }
label { display: block; margin: 1rem 0 .3rem; }
input[type=text], input[type=password] { width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }
button { margin-top: 1.2rem; padding: .5rem 1.2rem; font-size: 1rem; }
.error { color: #a00; border: 1px solid #a00; padding: .5rem; }
.note { color: #555; font-size: .9rem; }
</style>
</head>
<body>
<h1>Sign in to Trove for npm</h1>
{{if .Done}}
<p>Signed in as <strong>{{.User}}</strong>. You can close this window: npm receives its token in a moment.</p>
{{else}}
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
{{if .Form}}
<p class="note">Only continue if you ran <code>npm login</code> yourself just now: signing in gives that npm a token for your account.</p>
<form method="post" autocomplete="on">
<label for="name">User name</label>
<input type="text" id="name" name="name" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{else}}
<p>Run <code>npm login</code> again to get a new sign-in link.</p>
{{end}}
{{end}}
</body>
</html>
`
