package web

import (
	"net/http"

	"github.com/trove-dev/trove/internal/adapter"
)

// A Need is what a page needs of its visitor.
type Need int

const (
	// Anyone may see the page.
	Anyone Need = iota
	// Credentials: the page is where a password is typed or a sign-in is
	// handed to a client (sign-in, npm's login). Like every page below, it
	// is refused over plain HTTP from another machine.
	Credentials
	// Pending: a session that proved the password and owes a second
	// factor (the second-factor step).
	Pending
	// Member: a signed-in visitor.
	Member
	// Sudo: a signed-in visitor who re-authenticated within the sudo
	// time (sensitive changes).
	Sudo
	// Admin: an administrator in sudo mode.
	Admin
)

// A route is a row of the route table.
type route struct {
	name   string // stable, for tests and docs
	method string // GET also serves HEAD
	path   string // a net/http ServeMux pattern's path
	need   Need
	serve  func(http.ResponseWriter, *http.Request, *Visit) error
}

// table is the web interface's route table: every page, what it needs,
// and the function serving it. Pages added by other files add rows here.
func (h *Handler) table() []route {
	return append([]route{
		{"home", "GET", "/{$}", Anyone, h.home},
		{"static", "GET", staticPrefix + "{file}", Anyone, h.serveStatic},
		{"package", "GET", packagePrefix + "{path...}", Anyone, h.packagePage},
		{"search", "GET", "/-/search", Anyone, h.searchPage},
		{"log.record", "GET", logRecordPrefix + "{id}", Anyone, h.logRecordPage},

		{"signin", "GET", "/-/signin", Credentials, h.signinPage},
		{"signin.submit", "POST", "/-/signin", Credentials, h.signinSubmit},
		{"signin.factor", "GET", "/-/signin/factor", Pending, h.factorStep},
		{"signin.factor.submit", "POST", "/-/signin/factor", Pending, h.factorStep},
		{"signout", "POST", "/-/signout", Credentials, h.signout},
		{"reset", "GET", "/-/reset", Credentials, h.resetPage},
		{"reset.submit", "POST", "/-/reset", Credentials, h.resetSubmit},
		{"reset.confirm", "GET", "/-/reset/confirm", Credentials, h.resetConfirmPage},
		{"reset.confirm.submit", "POST", "/-/reset/confirm", Credentials, h.resetConfirmSubmit},
		{"report", "GET", "/-/report", Member, h.reportPage},
		{"report.submit", "POST", "/-/report", Member, h.reportSubmit},
		{"sudo", "GET", "/-/sudo", Member, h.sudoPage},
		{"sudo.submit", "POST", "/-/sudo", Member, h.sudoSubmit},

		{"account", "GET", "/-/account", Member, h.profile},
		{"account.public-email", "POST", "/-/account/public-email", Sudo, h.publicEmail},
		{"account.password", "GET", "/-/account/password", Member, h.passwordPage},
		{"account.password.submit", "POST", "/-/account/password", Member, h.passwordSubmit}, // asks for the password itself
		{"account.tokens", "GET", "/-/account/tokens", Member, h.tokensPage},
		{"account.tokens.create", "POST", "/-/account/tokens", Sudo, h.createToken},
		{"account.tokens.revoke", "POST", "/-/account/tokens/revoke", Sudo, h.revokeToken},
		{"account.sessions", "GET", "/-/account/sessions", Member, h.sessionsPage},
		{"account.sessions.revoke", "POST", "/-/account/sessions/revoke", Sudo, h.revokeSession},
		{"account.events", "GET", "/-/account/events", Member, h.eventsPage},
		{"account.audit", "GET", "/-/account/audit", Member, h.accountAudit},
		{"account.verify-email", "POST", "/-/account/verify-email", Member, h.verifyResend},
		{"account.email", "POST", "/-/account/email", Sudo, h.emailChange},
		{"account.email.cancel", "POST", "/-/account/email/cancel", Member, h.emailCancel}, // cancelling only protects
		{"email-change", "GET", "/-/email-change", Anyone, h.emailChangePage},
		{"email-change.submit", "POST", "/-/email-change", Anyone, h.emailChangeSubmit},
		{"signup", "GET", "/-/signup", Credentials, h.signupPage},
		{"signup.submit", "POST", "/-/signup", Credentials, h.signupSubmit},
		{"verify-email", "GET", "/-/verify-email", Anyone, h.verifyPage},
		{"verify-email.submit", "POST", "/-/verify-email", Anyone, h.verifySubmit},

		{"npm-login", "GET", npmLoginPrefix + "{id}", Member, h.npmLoginPage},
		{"npm-login.confirm", "POST", npmLoginPrefix + "{id}", Sudo, h.npmLoginConfirm},
		{"npm-otp", "GET", npmOTPPrefix + "{id}", Member, h.npmOTPPage},
		{"npm-otp.confirm", "POST", npmOTPPrefix + "{id}", Sudo, h.npmOTPConfirm},

		{"admin.users", "GET", "/-/admin/users", Admin, h.adminUsers},
		{"admin.users.action", "POST", "/-/admin/users/{name}/{action}", Admin, h.adminAction},
		{"admin.users.delete", "GET", "/-/admin/users/{name}/delete", Admin, h.adminDeletePage},
		{"admin.users.delete.submit", "POST", "/-/admin/users/{name}/delete", Admin, h.adminDelete},
		{"admin.events", "GET", "/-/admin/events", Admin, h.adminEvents},
		{"admin.audit", "GET", "/-/admin/audit", Admin, h.adminAudit},
		{"admin.queue", "GET", "/-/admin/queue", Admin, h.adminQueue},
		{"admin.queue.remove", "GET", "/-/admin/queue/remove", Admin, h.adminQueueRemovePage},
		{"admin.queue.action", "POST", "/-/admin/queue/{action}", Admin, h.adminQueueAction},
	}, h.factorRoutes()...)
}

// Routes returns the pages of the route table as adapter routes, for
// tests that walk every route (test/authz): pages anyone may see are
// Open, those where credentials are made SignIn, the others Credential (a
// signed-in session). Paths are the table's patterns.
func (h *Handler) Routes() []adapter.Route {
	var out []adapter.Route
	for _, rt := range h.table() {
		a := adapter.Credential
		switch rt.need {
		case Anyone:
			a = adapter.Open
		case Credentials:
			a = adapter.SignIn
		}
		out = append(out, adapter.NewRoute(rt.name, rt.method, rt.path, a))
	}
	return out
}

// routes builds the handler serving the table: each page behind its
// visitor check, every unsafe method behind cross-origin protection, and
// everything else a 404 page.
func (h *Handler) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range h.table() {
		mux.Handle(rt.method+" "+rt.path, h.guard(rt))
	}
	mux.HandleFunc("/", h.notFound)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.page(w, r, http.StatusForbidden, "error", errorView{Status: http.StatusForbidden,
			Message: "this form was sent from another site, so it was refused; nothing changed"})
	}))
	return cop.Handler(mux)
}
