// Package web is Trove's web interface: the pages people use in a
// browser (home, sign-in, account, admin, and the package pages other
// files add), served at "/" under every path no ecosystem mount takes.
//
// # Adding a page
//
// A page is a template file templates/<name>.html defining "title" and
// "main" (the layout, templates/layout.html, wraps it), a function that
// serves it, and a row in the route table (routes.go). The function ends
// with h.page(w, r, status, "<name>", data); the template sees data as
// .Data, the visitor as .Visit, and the helpers in funcs (static, …).
//
// # Security
//
// Every response carries a strict Content-Security-Policy (no inline
// script or style: scripts and styles are files under static/), nosniff,
// X-Frame-Options DENY and Referrer-Policy same-origin; pages for a
// signed-in visitor are Cache-Control no-store. Every request with an
// unsafe method passes net/http's CrossOriginProtection (Sec-Fetch-Site
// and Origin), and the session cookie is SameSite=Lax: a form posted from
// another site is refused before it is read. GET never changes state.
package web

import (
	"context"
	"html/template"
	"net/http"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// Options configure a Handler.
type Options struct {
	// BaseURL is the server's external base URL, without a trailing
	// slash; the home page shows the client URLs under it.
	BaseURL string
	// HTTPSURL is the server's https base URL, which refusals of
	// sign-ins over plain HTTP name; empty when it has none.
	HTTPSURL string
	// Serves lists what the server's mounts serve ("npm under /npm/"),
	// for the 404 page (server.Served).
	Serves []string
	// Ecosystems maps an ecosystem to its mount prefix ("npm" → "/npm"),
	// for the home page's client instructions.
	Ecosystems map[string]string

	// Patterns parses a token's package pattern ("npm:@acme/*", "*"):
	// registry.Service.ParsePattern. Nil accepts only "*".
	Patterns func(string) (access.Pattern, error)

	Users    *account.Users
	Sessions *account.Sessions
	Tokens   *access.Tokens
	// Logins completes npm's browser logins (/-/npm-login/S); nil
	// disables those pages.
	Logins *account.Logins
	// NPMOTPs confirms npm's web one-time passwords (/-/npm-otp/S,
	// npmotp.go); nil disables those pages.
	NPMOTPs *account.NPMOTPs
	// Factors is the second sign-in step; nil means none: a password
	// alone signs in (see SecondFactor). With MFA set it is MFA's.
	Factors SecondFactor
	// MFA is the second-factor service: the account's security pages,
	// the second sign-in step, passkey sign-in and sudo with a factor
	// (factors.go); nil leaves them out.
	MFA *account.Factors
	// Events lists an account's security events; nil shows that the
	// server does not record them yet.
	Events Events
	// Notifier is told about security events; nil tells no one.
	Notifier account.Notifier
	// Verify checks email verification links (verify.go); nil disables
	// those pages.
	Verify *account.Verifications
	// Signup is [accounts] signup: "closed" (no sign-up page), "invite"
	// (administrators' invitations) or "open" (signup.go).
	Signup string
	// Resets runs password resets by email (/-/reset); nil: the pages
	// say that this server does not offer them.
	Resets *account.Resets
	// Limit, when set, applies the server's per-address rate limits to a
	// form (server.Guards.Limit): anonymous says the visitor has no
	// complete session, signIn that the form checks a password or a
	// second factor. Its error is the page's answer (429, Retry-After).
	Limit func(r *http.Request, anonymous, signIn bool) error
	// Writable, when set, returns an error while the server must not
	// change anything: pages that change state answer 503 with it.
	Writable func() error
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Deletions deletes accounts from the administrators' users page
	// (admindelete.go); nil: the page offers no deletion.
	Deletions *account.Deletions
	// AllEvents lists the security events of every account for
	// administrators (/-/admin/events); nil: the page says that this
	// server does not record them.
	AllEvents AllEvents

	// Registry, when set, serves the package pages, search and the home
	// page's lists (package.go, search.go); Pages caches their rendered
	// parts (nil: a cache of its own, 16 MiB).
	Registry *registry.Service
	Pages    *page.Cache
	// Proofs, when set, serves the pages of transparency-log records
	// and their inclusion proofs (/-/log/N, logrecord.go).
	Proofs Prover
	// Audit, when set, records every form the route table serves (any
	// method but GET) in the audit log; AuditLog reads it back for the
	// account's and the administrators' audit pages (audit.go), which
	// are left out without it.
	Audit    *audit.Log
	AuditLog AuditReader
}

// Events lists the security events of an account, newest first (the mail
// helper's table feeds it).
type Events interface {
	// List returns at most limit events of the user, newest first.
	List(ctx context.Context, userID int64, limit int) ([]account.Event, error)
}

// AllEvents lists the security events of every account:
// account.Notifications does.
type AllEvents interface {
	// Recent returns at most limit events that pass the filter, newest
	// first.
	Recent(ctx context.Context, f meta.EventFilter, limit int) ([]*meta.SecurityEvent, error)
}

// A Handler serves the web interface.
type Handler struct {
	o      Options
	cache  *page.Cache
	search *searchIndex
	pages  map[string]*template.Template
	files  staticFiles
	mux    http.Handler
}

// New returns the web interface. It fails only if an embedded template
// does not parse.
func New(o Options) (*Handler, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &Handler{o: o}
	if o.MFA != nil && o.Factors == nil {
		h.o.Factors = factorStep{h}
	}
	var err error
	if h.files, err = loadStatic(); err != nil {
		return nil, err
	}
	if h.pages, err = h.parsePages(); err != nil {
		return nil, err
	}
	h.mux = h.routes()
	h.setupPackages()
	return h, nil
}

// ServeHTTP serves a request for a web page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	h.mux.ServeHTTP(w, r)
}

// A Visit is who is asking: the visitor's session and user, both nil for
// someone not signed in.
type Visit struct {
	Session *account.Session
	User    *trove.User
	// Path is the request's path, for links back to it.
	Path string
	// Host is the request's Host header: security keys work only at
	// the origin they were made for.
	Host string
}

// SignedIn reports whether the visitor has a session past every sign-in
// step.
func (v *Visit) SignedIn() bool {
	return v != nil && v.User != nil && v.Session != nil && !v.Session.Pending
}
