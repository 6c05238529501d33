package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/trove"
)

// The session cookie: __Host-trove over https (the prefix makes browsers
// require Secure, Path=/ and no Domain), trove over plain HTTP on this
// machine. Both are HttpOnly and SameSite=Lax.
const (
	cookieHTTPS = "__Host-trove"
	cookiePlain = "trove"
)

type visitKey struct{}

// visitOf returns the request's visit (never nil).
func visitOf(r *http.Request) *Visit {
	if v, ok := r.Context().Value(visitKey{}).(*Visit); ok {
		return v
	}
	return &Visit{Path: r.URL.Path, Host: r.Host}
}

func cookieName(r *http.Request) string {
	if adapter.ChannelOf(r.Context()) == adapter.HTTPS {
		return cookieHTTPS
	}
	return cookiePlain
}

// setSession sets the session cookie. The cookie lives as long as the
// browser runs; the session's own limits end it on the server.
func setSession(w http.ResponseWriter, r *http.Request, secret string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: secret, Path: "/", HttpOnly: true,
		Secure: adapter.ChannelOf(r.Context()) == adapter.HTTPS, SameSite: http.SameSiteLaxMode})
}

// clearSession deletes the session cookie.
func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: adapter.ChannelOf(r.Context()) == adapter.HTTPS, SameSite: http.SameSiteLaxMode})
}

// visit finds the request's session, if any.
func (h *Handler) visit(r *http.Request) (*Visit, error) {
	v := &Visit{Path: r.URL.Path, Host: r.Host}
	c, err := r.Cookie(cookieName(r))
	if err != nil || h.o.Sessions == nil {
		return v, nil
	}
	ses, u, err := h.o.Sessions.Authenticate(r.Context(), c.Value)
	if errors.Is(err, account.ErrNoSession) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	v.Session, v.User = ses, u
	return v, nil
}

// guard serves a route after checking what it needs of the visitor.
func (h *Handler) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.o.Audit != nil && audit.Mutating(rt.method) {
			sw := &statusWriter{ResponseWriter: w}
			w = sw
			r = r.WithContext(audit.WithNote(r.Context()))
			defer func() {
				if p := recover(); p != nil {
					// The server recovers it and answers 500: so says the entry.
					if sw.status == 0 {
						sw.status = http.StatusInternalServerError
					}
					h.record(r, rt, sw)
					panic(p)
				}
				h.record(r, rt, sw)
			}()
		}
		if rt.method != http.MethodGet && r.Body != nil {
			// Every form and ceremony body, whoever sends it and whether or
			// not its page reads it: no more than maxForm is ever read, so
			// that no page can be made to hold more (readForm's own bound,
			// and the smaller ones of some pages, apply within it).
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		}
		v, err := h.visit(r)
		ctx := context.WithValue(r.Context(), visitKey{}, v)
		if p := sessionPrincipal(v); p != nil {
			// The registry reads for the signed-in user (private packages,
			// registry.CanRead); without a session, for whom the server
			// authenticated (a token, or nobody).
			ctx = access.WithPrincipal(ctx, p)
		}
		r = r.WithContext(ctx)
		if err == nil {
			err = h.check(w, r, rt, v)
		}
		if err == nil {
			err = rt.serve(w, r, v)
		}
		if err != nil && !errors.Is(err, errAnswered) {
			h.fail(w, r, err)
		}
	})
}

// sessionPrincipal is whom the registry reads for on a visit with a
// signed-in session: its user, with every action on every package (the
// session is the user), as an administrator if they are one. nil for a
// visit without a session, or one still owing a second factor.
func sessionPrincipal(v *Visit) *access.Principal {
	if v == nil || v.Session == nil || v.Session.Pending || v.User == nil {
		return nil
	}
	u := v.User
	return &access.Principal{UserID: u.ID, UserName: u.Name, Email: u.Email, Admin: u.Admin,
		Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: v.Session.Level, MustChangePassword: u.PasswordReset}
}

// record writes the form's request to the audit log, as "web." and the
// route's name, with the visitor its session belongs to (one still owing
// a second factor proved the password); a visitor without a session is
// counted, not itemised (audit's anonymous requests).
func (h *Handler) record(r *http.Request, rt route, w *statusWriter) {
	e := audit.Entry{Client: limit.RemoteAddr(r.RemoteAddr).String(), Action: "web." + rt.name, Path: r.URL.Path,
		Status: w.code(), RequestID: w.Header().Get("X-Request-Id")} // set by the server
	if v := visitOf(r); v.Session != nil && v.User != nil {
		e.UserID, e.UserName, e.Credential = v.User.ID, v.User.Name, audit.CredentialSession
		if v.Session.Pending {
			e.Credential = audit.CredentialPassword
		}
	}
	h.o.Audit.Record(r.Context(), e)
}

// A statusWriter remembers the status of the response written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errAnswered reports that a check already wrote the response (a
// redirect).
var errAnswered = errors.New("answered")

// check returns nil if the visitor may use the route, and otherwise
// redirects them to where they can (errAnswered) or returns why not.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, rt route, v *Visit) error {
	if rt.need != Anyone && adapter.ChannelOf(r.Context()) == adapter.PlainNetwork {
		return h.plainRefusal(r)
	}
	if rt.method != http.MethodGet && h.o.Writable != nil {
		if err := h.o.Writable(); err != nil {
			return trove.Error(trove.ErrUnavailable, "%w", err)
		}
	}
	if rt.method != http.MethodGet && h.o.Limit != nil {
		anonymous := v == nil || v.Session == nil || v.Session.Pending
		if err := h.o.Limit(r, anonymous, checksSecret(rt)); err != nil {
			return err
		}
	}
	switch {
	case rt.need <= Credentials:
		return nil
	case v.Session == nil:
		return h.toSignIn(w, r)
	case rt.need == Pending:
		if !v.Session.Pending {
			return redirect(w, r, "/-/account")
		}
		return nil
	case v.Session.Pending:
		return redirect(w, r, "/-/signin/factor?next="+url.QueryEscape(r.URL.RequestURI()))
	case v.User.PasswordReset && rt.name != "account.password" && rt.name != "account.password.submit":
		return redirect(w, r, "/-/account/password")
	case rt.need == Admin && !v.User.Admin:
		return trove.Error(access.ErrDenied, "this page is for administrators")
	case rt.need >= Sudo && !h.o.Sessions.InSudo(v.Session):
		return h.toSudo(w, r)
	}
	return nil
}

// plainRefusal says why a page is not served over plain HTTP.
func (h *Handler) plainRefusal(r *http.Request) error {
	if h.o.HTTPSURL != "" {
		return trove.Error(access.ErrDenied, "sign-ins and account pages are served only over https: use %s%s", h.o.HTTPSURL, r.URL.Path)
	}
	return trove.Error(access.ErrDenied, "sign-ins and account pages are served only over https (or plain HTTP on this server's own machine), and this server has no https URL; its operator must set up TLS")
}

// toSignIn sends a visitor who is not signed in to the sign-in page,
// coming back here afterwards (GET), or refuses the form (other methods).
func (h *Handler) toSignIn(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return trove.Error(account.ErrNoSession, "sign in again, then repeat what you were doing")
	}
	return redirect(w, r, "/-/signin?next="+url.QueryEscape(r.URL.RequestURI()))
}

// toSudo asks for the password again before a sensitive page (GET), or
// refuses the form, whose page then asks first (other methods).
func (h *Handler) toSudo(w http.ResponseWriter, r *http.Request) error {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		next = "/-/account"
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Host == r.Host {
			next = localPath(ref.RequestURI(), next)
		}
	}
	return redirect(w, r, "/-/sudo?next="+url.QueryEscape(next))
}

// redirect answers with a 303 to a local path.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return errAnswered
}

// localPath returns next if it is a path on this server, and otherwise
// def: no open redirect through "//host", "/\host", a scheme or a host.
func localPath(next, def string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return def
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return def
	}
	return next
}

// checksSecret reports whether a form checks a password or a second
// factor (sign-in, its second step, passkeys, sudo, password change,
// sign-up and resets), and so counts as a sign-in for the rate limits.
func checksSecret(rt route) bool {
	switch {
	case rt.name == "signout":
		return false
	case rt.need == Credentials, rt.need == Pending:
		return true
	}
	return strings.HasPrefix(rt.name, "sudo.") || rt.name == "account.password.submit"
}
