// Package npm serves the npm registry protocol to unmodified npm 10/11
// clients (and yarn and pnpm, which speak the same protocol): packuments,
// tarballs, publish, dist-tags, deprecate, unpublish, owners, login,
// tokens, search, and organisations, teams and their grants.
//
// # Endpoints
//
// Paths are below the registry root (mounted at /npm); E is a package
// name, scoped ones as @scope%2fname, @scope%2Fname or @scope/name.
//
//	GET    /E                              packument: abbreviated for Accept: application/vnd.npm.install-v1+json, else full
//	PUT    /E                              publish (with _attachments), or deprecate / dist-tag changes (without)
//	PUT    /E/-rev/R                       the same; versions missing from the body are unpublished
//	DELETE /E/-rev/R                       unpublish every version
//	GET    /E/-/NAME-VERSION.tgz           tarball
//	DELETE /E/-/NAME-VERSION.tgz/-rev/R    no-op once the version is unpublished
//	GET    /-/package/E/dist-tags          dist-tags
//	PUT    /-/package/E/dist-tags/T        point tag T at the version in the body ("1.2.3")
//	DELETE /-/package/E/dist-tags/T        remove tag T (not latest)
//	GET    /-/ping                         {}
//	GET    /-/v1/search?text=&size=&from=  search
//	GET    /-/whoami                       {"username": …}
//	POST   /-/v1/login                     start a browser login: {"loginUrl", "doneUrl"}
//	GET    /-/v1/login/S                   a browser login: redirects to the web sign-in
//	GET    /-/v1/done?sessionId=S          poll a browser login: 202 until done, then {"token"}
//	PUT    /-/user/org.couchdb.user:U      legacy login (npm login --auth-type=legacy, npm adduser)
//	GET    /-/user/org.couchdb.user:U      {"name": U} if the user exists (npm owner add|rm; no email)
//	DELETE /-/user/token/T                 logout: revoke the token T
//	GET    /-/npm/v1/tokens, POST          list and create tokens
//	DELETE /-/npm/v1/tokens/token/K        revoke a token
//	…      /-/org/O/…, /-/team/O/T/…       npm org, npm team, npm access grant|revoke (org.go)
//	GET    /-/package/E/collaborators      npm access list collaborators (org.go)
//	GET    /-/package/E/visibility         npm access get status (org.go)
//	POST   /-/package/E/access             npm access set (org.go)
//
// # Security invariants
//
//   - The metadata served for a version is derived from the package.json
//     inside its tarball, never from the manifest in the publish request
//     (manifest confusion): the request's manifest must agree with the
//     tarball on every field that changes what an install does, or the
//     publish is refused. See [derive] and [confusion].
//   - Tarballs are read by internal/archive ([readTarball]): bounded entry
//     counts, sizes and compression ratio (a bomb is 413), and refused if
//     they hold path traversal, links of any kind, device files, duplicate
//     entries or data after the archive; npm's own rules are one top
//     directory holding package.json.
//   - Published bytes are served as stored: never re-packed.
//   - A metadata-only PUT may change only deprecations and dist-tags,
//     unpublish versions, or add or remove one owner (by name: emails sent
//     in maintainers are ignored); never a version's manifest or dist.
//   - A cached packument read does no SQL and no JSON encoding: documents
//     are rendered once per change of their package ([page.Cache]).
//   - Private packages (docs/private-packages.md): every read route naming a
//     package checks registry.Service.CanRead before any cache, and a
//     package the request may not read answers exactly as a name never
//     published; a private name is local, never proxied from upstreams.
package npm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

// Options configure a Handler.
type Options struct {
	Registry *registry.Service
	Pages    *page.Cache
	Tokens   *access.Tokens
	Users    *account.Users
	Logins   *account.Logins
	// BaseURL is the public URL of the npm registry root, without a
	// trailing slash, for example http://127.0.0.1:8080/npm.
	BaseURL          string
	MaxPublishBytes  int64
	OpenRegistration bool
	// Upstream fetches names that are not local from the npm upstreams
	// (see proxy.go); nil or disabled serves local packages only.
	Upstream *upstream.Client
	// Factors checks one-time passwords (otp.go); nil never challenges.
	Factors Factors
	// WebOTP runs npm's web one-time passwords (otp.go), confirmed on
	// the web page at WebURL/-/npm-otp/S; nil offers only codes.
	WebOTP *account.NPMOTPs
	// WebURL is the web interface's base URL, without a trailing slash.
	WebURL string
}

// DefaultMaxPublishBytes bounds publish requests when Options leave it zero.
const DefaultMaxPublishBytes = 128 << 20

// Handler serves the npm protocol. It implements server.Adapter.
type Handler struct {
	o     Options
	table adapter.Table[op, request]
	proxy *proxy // nil without upstreams
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.MaxPublishBytes <= 0 {
		o.MaxPublishBytes = DefaultMaxPublishBytes
	}
	if o.Pages == nil {
		o.Pages = page.NewCache(16 << 20)
	}
	h := &Handler{o: o, proxy: newProxy(o)}
	h.table = h.routes()
	return h
}

// routes returns the npm route table of h.
func (h *Handler) routes() adapter.Table[op, request] {
	get, put, post, del := http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete
	open, signIn, cred := adapter.Open, adapter.SignIn, adapter.Credential
	rev := func(r request) bool { return r.hasRev }
	noRev := func(r request) bool { return !r.hasRev }
	route := adapter.NewRoute
	return adapter.Table[op, request]{
		{Route: route("packument", get, "/{package}", open), Kind: opPackument, When: noRev, Serve: h.packument},
		{Route: route("publish", put, "/{package}", cred), Kind: opPackument, When: noRev, Serve: h.withOTP(h.putPackage)},
		{Route: route("update", put, "/{package}/-rev/{rev}", cred), Kind: opPackument, When: rev, Serve: h.withOTP(h.putPackage)},
		{Route: route("unpublish", del, "/{package}/-rev/{rev}", cred), Kind: opPackument, When: rev, Serve: h.withOTP(h.unpublishAll)},
		{Route: route("tarball", get, "/{package}/-/{file}.tgz", open), Kind: opTarball, When: noRev, Serve: h.tarball},
		{Route: route("tarball.delete", del, "/{package}/-/{file}.tgz/-rev/{rev}", cred), Kind: opTarball, When: rev, Serve: h.withOTP(h.deleteTarball)},
		{Route: route("disttags", get, "/-/package/{package}/dist-tags", open), Kind: opDistTags, Serve: h.distTags},
		{Route: route("disttag.set", put, "/-/package/{package}/dist-tags/{tag}", cred), Kind: opDistTag, Serve: h.withOTP(h.setDistTag)},
		{Route: route("disttag.remove", del, "/-/package/{package}/dist-tags/{tag}", cred), Kind: opDistTag, Serve: h.withOTP(h.removeDistTag)},
		{Route: route("ping", get, "/-/ping", open), Kind: opPing, Serve: h.ping},
		{Route: route("whoami", get, "/-/whoami", cred), Kind: opWhoami, Serve: h.whoami},
		{Route: route("search", get, "/-/v1/search", open), Kind: opSearch, Serve: h.search},
		{Route: route("login.start", post, "/-/v1/login", signIn), Kind: opLoginStart, Serve: h.loginStart},
		{Route: route("login.page", get, "/-/v1/login/{session}", signIn), Kind: opLoginPage, Serve: h.loginPage},
		{Route: route("login.done", get, "/-/v1/done", signIn), Kind: opLoginDone, Serve: h.loginDone},
		{Route: route("otp.done", get, "/-/v1/otp-done", cred), Kind: opOTPDone, Serve: h.otpDone},
		{Route: route("login.couch", put, "/-/user/org.couchdb.user:{user}", signIn), Kind: opCouchUser, Serve: h.couchLogin},
		{Route: route("user", get, "/-/user/org.couchdb.user:{user}", cred), Kind: opCouchUser, When: noRev, Serve: h.couchUser},
		{Route: route("logout", del, "/-/user/token/{token}", cred), Kind: opLogout, Serve: h.logout},
		{Route: route("tokens.list", get, "/-/npm/v1/tokens", cred), Kind: opTokens, Serve: h.listTokens},
		{Route: route("tokens.create", post, "/-/npm/v1/tokens", signIn), Kind: opTokens, Serve: h.withOTP(h.createToken)},
		{Route: route("tokens.revoke", del, "/-/npm/v1/tokens/token/{key}", cred), Kind: opToken, Serve: h.withOTP(h.revokeToken)},
		{Route: route("org.members", get, "/-/org/{org}/user", cred), Kind: opOrgUser, Serve: h.orgMembers},
		{Route: route("org.member.set", put, "/-/org/{org}/user", cred), Kind: opOrgUser, Serve: h.withOTP(h.setOrgMember)},
		{Route: route("org.member.remove", del, "/-/org/{org}/user", cred), Kind: opOrgUser, Serve: h.withOTP(h.removeOrgMember)},
		{Route: route("org.teams", get, "/-/org/{org}/team", cred), Kind: opOrgTeam, Serve: h.orgTeams},
		{Route: route("org.team.create", put, "/-/org/{org}/team", cred), Kind: opOrgTeam, Serve: h.withOTP(h.createTeam)},
		{Route: route("org.team.delete", del, "/-/team/{org}/{team}", cred), Kind: opTeam, Serve: h.withOTP(h.deleteTeam)},
		{Route: route("org.team.members", get, "/-/team/{org}/{team}/user", cred), Kind: opTeamUser, Serve: h.teamMembers},
		{Route: route("org.team.member.add", put, "/-/team/{org}/{team}/user", cred), Kind: opTeamUser, Serve: h.withOTP(h.setTeamMember)},
		{Route: route("org.team.member.remove", del, "/-/team/{org}/{team}/user", cred), Kind: opTeamUser, Serve: h.withOTP(h.setTeamMember)},
		{Route: route("access.team.grant", put, "/-/team/{org}/{team}/package", cred), Kind: opTeamPackage, Serve: h.withOTP(h.teamPackage)},
		{Route: route("access.team.revoke", del, "/-/team/{org}/{team}/package", cred), Kind: opTeamPackage, Serve: h.withOTP(h.teamPackage)},
		{Route: route("access.collaborators", get, "/-/package/{package}/collaborators", open), Kind: opCollaborators, Serve: h.collaborators},
		{Route: route("access.visibility", get, "/-/package/{package}/visibility", open), Kind: opVisibility, Serve: h.visibility},
		{Route: route("access.packages", get, "/-/org/{org}/package", cred), Kind: opPackages, Serve: h.orgPackages},
		{Route: route("access.team.packages", get, "/-/team/{org}/{team}/package", cred), Kind: opTeamPackage, Serve: h.teamPackages},
		{Route: route("access.user.packages", get, "/-/user/{user}/package", open), Kind: opUserPackages, Serve: h.userPackages},
		{Route: route("access.set", post, "/-/package/{package}/access", cred), Kind: opPackageAccess, Serve: h.withOTP(h.setPackageAccess)},
	}
}

// Routes returns the npm endpoints.
func (h *Handler) Routes() []adapter.Route { return h.table.Routes() }

// Route maps a request to an endpoint.
func (h *Handler) Route(r *http.Request) (string, adapter.Endpoint) {
	req, err := parsePath(r.URL.EscapedPath())
	if errors.Is(err, errNoRoute) {
		return "", nil
	}
	if err != nil {
		return "invalid", func(http.ResponseWriter, *http.Request) error { return err }
	}
	if name, serve := h.table.Lookup(req.op, r.Method, req); serve != nil {
		return name, serve
	}
	return "unsupported", func(http.ResponseWriter, *http.Request) error {
		return trove.Error(trove.ErrUnsupported, "%s is not supported on %s", r.Method, access.Redact(r.URL.Path))
	}
}

// WriteError writes an npm error, {"error": msg}, which npm prints. The
// browser login link, which a person opens, gets plain text instead.
func (h *Handler) WriteError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if req, err := parsePath(r.URL.EscapedPath()); err == nil && req.op == opLoginPage {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(status)
		fmt.Fprintf(w, "%s\nRun npm login again to get a new sign-in link.\n", msg)
		return
	}
	// Never WWW-Authenticate: npm reads "OTP" there as a one-time
	// password challenge, and anything else as an unknown scheme.
	w.Header().Del("WWW-Authenticate")
	adapter.WriteJSON(w, status, map[string]string{"error": msg})
}

// ok is the body of successful writes.
var ok = map[string]bool{"ok": true}

func (h *Handler) ping(w http.ResponseWriter, r *http.Request, _ request) error {
	return adapter.WriteJSON(w, http.StatusOK, struct{}{})
}

// decodeJSON decodes a JSON document (trailing data is an error) and
// turns syntax and type errors into a clear ErrInvalid. It decodes from b
// itself, without a copy: values that keep their raw bytes (rawString)
// point into b.
func decodeJSON(b []byte, v any, what string) error {
	if err := json.Unmarshal(b, v); err != nil {
		return trove.Error(trove.ErrInvalid, "%s is not valid: %v", what, jsonError(err))
	}
	return nil
}

// jsonError rewords encoding/json errors for people.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "field " + te.Field + " must be " + jsonKind(te.Type.Kind().String()) + ", not " + te.Value
	}
	return err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	case "string":
		return "a string"
	case "int64", "int", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	}
	return k
}
