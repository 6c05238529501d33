// Package authz walks the route table of every adapter (npm, PyPI, Go and
// Trove's API) and proves that every endpoint that needs a credential
// refuses the callers who lack the right: no credentials, a read-only
// token, a token scoped to another package (without the tokens action),
// and another user. Each endpoint's request is first refused for each of
// them, changing nothing, then accepted for the owner: a refusal that came
// from a malformed request would fail that positive control.
//
// A new endpoint that needs a credential fails this test until it has a
// request here; a new sign-in endpoint fails it until it is listed.
package authz

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/api"
	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/audit"
	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/goproxy"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
	"github.com/trove-dev/trove/internal/trust/trusttest"
	"github.com/trove-dev/trove/internal/web"
)

var ctx = context.Background()

// signIns are the endpoints that take no token because they make
// credentials from a password or a pending browser sign-in.
var signIns = []string{"npm.login.start", "npm.login.page", "npm.login.submit", "npm.login.done", "npm.login.couch", "npm.tokens.create",
	"pypi.oidc.mint", "npm.oidc.exchange", "api.oidc.exchange"} // the trusted publishing exchanges check an OIDC ID token

// The callers who must be refused.
const (
	anonymous = "anonymous"
	readOnly  = "a read-only token"
	scoped    = "a token scoped to other packages"
	stranger  = "another user's token"
	// Refused by administrators' endpoints only.
	adminReadOnly = "an administrator's read-only token"
	ownerCaller   = "the owner's token"
)

var allCallers = []string{anonymous, readOnly, scoped, stranger}

// A probe is how the walk exercises one endpoint.
type probe struct {
	// deny lists the callers that must be refused (all by default).
	deny []string
	// setup prepares what the requests act on, once.
	setup func(w *walk)
	// request returns a request the owner's token may make; it is built
	// anew for every caller.
	request func(w *walk) *http.Request
	// admin makes the endpoint an administrator's: the owner's token
	// (alice's) is refused too, and an administrator's read-only token,
	// and the positive control is an administrator's full token.
	admin bool
	// positive, when set, returns the token of the positive control
	// instead of the owner's (for a request that would revoke the
	// owner's token).
	positive func(w *walk) string
}

// proofs are the endpoints that take no token but carry their own proof
// (adapter.Proof); TestProofEndpoints refuses them without it.
var proofs = []string{"api.tokens.leaked", "api.scanning.github"}

// probes are the requests of every endpoint that needs a credential, by
// "mount.route".
var probes = map[string]probe{
	"npm.publish": {request: func(w *walk) *http.Request {
		return w.npmPublish("demo", w.nextVersion())
	}},
	"npm.update": {request: func(w *walk) *http.Request {
		doc := w.npmDoc("demo")
		doc["versions"].(map[string]any)["1.0.0"].(map[string]any)["deprecated"] = "use " + w.nextVersion()
		return w.json(http.MethodPut, "/npm/demo/-rev/"+doc["_rev"].(string), doc)
	}},
	"npm.unpublish": {setup: func(w *walk) { w.do(w.npmPublish("gone", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
		return w.json(http.MethodDelete, "/npm/gone/-rev/"+w.npmDoc("gone")["_rev"].(string), nil)
	}},
	"npm.tarball.delete": {setup: func(w *walk) {
		w.do(w.npmPublish("half", "1.0.0"), w.owner)
		w.do(w.npmPublish("half", "1.1.0"), w.owner)
		if err := w.env.Registry.Delete(ctx, w.ownerPrincipal(), trove.Target{Ecosystem: trove.NPM, Name: "half", Version: "1.1.0"}, ""); err != nil {
			w.t.Fatal(err)
		}
	}, request: func(w *walk) *http.Request {
		return w.json(http.MethodDelete, "/npm/half/-/half-1.1.0.tgz/-rev/"+w.npmDoc("half")["_rev"].(string), nil)
	}},
	"npm.disttag.set": {setup: func(w *walk) { w.do(w.npmPublish("tagged", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
		return w.raw(http.MethodPut, "/npm/-/package/tagged/dist-tags/beta", "application/json", []byte(`"1.0.0"`))
	}},
	"npm.disttag.remove": {setup: func(w *walk) {
		w.do(w.npmPublish("untagged", "1.0.0"), w.owner)
		w.do(w.raw(http.MethodPut, "/npm/-/package/untagged/dist-tags/old", "application/json", []byte(`"1.0.0"`)), w.owner)
	}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/npm/-/package/untagged/dist-tags/old", "", nil)
	}},
	"npm.whoami": {deny: []string{anonymous}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/npm/-/whoami", "", nil) }},
	"npm.user":   {deny: []string{anonymous}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/npm/-/user/org.couchdb.user:bob", "", nil) }},
	// npm polls a web one-time password's doneUrl with the token of the
	// user who was challenged: any of alice's tokens (202 while pending),
	// nobody else's.
	"npm.otp.done": {deny: []string{anonymous, stranger}, request: func(w *walk) *http.Request {
		_, done, err := w.otps.Start(ctx, w.ownerPrincipal().UserID, "PUT /npm/demo", trove.AuthMFA)
		if err != nil {
			w.t.Fatal(err)
		}
		return w.raw(http.MethodGet, "/npm/-/v1/otp-done?id="+done, "", nil)
	}},
	"npm.tokens.list": {deny: []string{anonymous, readOnly, scoped}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/npm/-/npm/v1/tokens", "", nil) }},
	"npm.tokens.revoke": {request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/npm/-/npm/v1/tokens/token/"+w.spare(), "", nil)
	}},
	"npm.logout": {request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/npm/-/user/token/"+w.spareSecret(), "", nil)
	}},

	"api.upstream.except": {admin: true, request: func(w *walk) *http.Request {
		return w.json(http.MethodPut, "/api/v1/upstream/exceptions/npm/fork-"+w.nextVersion(), map[string]string{"as": "local", "reason": "ours"})
	}},
	"api.upstream.unexcept": {admin: true, setup: func(w *walk) {
		w.do(w.json(http.MethodPut, "/api/v1/upstream/exceptions/npm/kept", map[string]string{"as": "local"}), w.admin)
	}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/upstream/exceptions/npm/kept", "", nil)
	}},

	// Anyone signed in reports (any token of theirs); the queue and its
	// actions are the administrators'.
	"api.reports.file": {deny: []string{anonymous}, request: func(w *walk) *http.Request {
		return w.json(http.MethodPost, "/api/v1/reports", map[string]string{"ecosystem": "npm", "name": "demo", "version": "1.0.0", "category": "malicious", "reason": "probe"})
	}},
	"api.admin.queue": {admin: true, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/api/v1/admin/queue", "", nil) }},
	"api.admin.queue.act": {admin: true, setup: func(w *walk) {
		w.do(w.npmPublish("queued", "1.0.0"), w.owner)
		w.do(w.json(http.MethodPost, "/api/v1/reports", map[string]string{"ecosystem": "npm", "name": "queued", "category": "spam", "reason": "probe"}), w.callers[stranger])
	}, request: func(w *walk) *http.Request {
		return w.json(http.MethodPost, "/api/v1/admin/queue", map[string]string{"action": "dismiss", "ecosystem": "npm", "name": "queued"})
	}},

	"pypi.upload": {request: func(w *walk) *http.Request { return w.pypiUpload("demo", "1."+w.nextVersion()) }},
	"go.upload":   {request: func(w *walk) *http.Request { return w.goUpload("example.test/demo", "v"+w.nextVersion()) }},

	// Everyone reads their own entries (with a token that may manage
	// tokens); TestAuditReading proves nobody reads another's.
	"api.audit":       {deny: []string{anonymous, readOnly, scoped}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/api/v1/audit", "", nil) }},
	"api.whoami":      {deny: []string{anonymous}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/api/v1/whoami", "", nil) }},
	"api.tokens.list": {deny: []string{anonymous, readOnly, scoped}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/api/v1/tokens", "", nil) }},
	"api.tokens.revoke": {request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/tokens/"+w.spare(), "", nil)
	}},
	"api.tokens.revokeall": {deny: []string{anonymous, readOnly, scoped}, request: func(w *walk) *http.Request {
		// The owner's own tokens: the last probe but one to run (see walkOrder).
		return w.raw(http.MethodDelete, "/api/v1/tokens", "", nil)
	}},
	"api.admin.tokens.revokeall": {admin: true, request: func(w *walk) *http.Request {
		// Every token of every user: the last probe to run (see walkOrder).
		return w.raw(http.MethodDelete, "/api/v1/admin/tokens", "", nil)
	}},
	// The tokens that can write a package: its owners' or an
	// administrator's token with the tokens action. The package is
	// carol's, and so is the positive control (a token that cannot write
	// the package itself), so that alice's tokens survive for the other
	// probes; alice is a stranger to it like bob.
	"api.package.tokens.revoke": {setup: func(w *walk) {
		w.do(w.pypiUpload("carols", "1.0"), w.carolToken(nil, access.Publish))
	}, positive: func(w *walk) string {
		return w.carolToken([]string{"npm:other"}, access.ManageTokens)
	}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/packages/pypi/carols/tokens", "", nil)
	}},
	"api.yank": {request: func(w *walk) *http.Request {
		return w.raw(http.MethodPost, "/api/v1/packages/npm/demo/1.0.0/yank", "application/json", []byte(`{"reason":"x"}`))
	}},
	// The scan findings are the maintainers', read with any token of theirs
	// that covers the package, read-only ones too.
	"api.scan.findings": {deny: []string{anonymous, scoped, stranger}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodGet, "/api/v1/packages/npm/demo/1.0.0/findings", "", nil)
	}},
	"api.unyank": {setup: func(w *walk) {
		w.do(w.npmPublish("yanked", "1.0.0"), w.owner)
		w.do(w.npmPublish("yanked", "1.1.0"), w.owner)
		w.do(w.raw(http.MethodPost, "/api/v1/packages/npm/yanked/1.0.0/yank", "application/json", []byte(`{}`)), w.owner)
	}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/packages/npm/yanked/1.0.0/yank", "", nil)
	}},
	"api.delete": {setup: func(w *walk) {
		w.do(w.pypiUpload("doomed", "1.0"), w.owner)
		w.do(w.pypiUpload("doomed", "2.0"), w.owner)
	}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/packages/pypi/doomed/1.0", "", nil)
	}},
	"api.publishers.list": {setup: func(w *walk) { w.do(w.npmPublish("tp-list", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
		return w.raw(http.MethodGet, "/api/v1/packages/npm/tp-list/publishers", "", nil)
	}},
	"api.publishers.add": {setup: func(w *walk) { w.do(w.npmPublish("tp-add", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
		return w.json(http.MethodPost, "/api/v1/packages/npm/tp-add/publishers",
			trust.Spec{Issuer: "github", Repository: "acme/tp", RepositoryOwnerID: "1", Workflow: "release.yml"})
	}},
	"api.publishers.remove": {setup: func(w *walk) {
		w.do(w.npmPublish("tp-rm", "1.0.0"), w.owner)
		alice, err := w.env.DB.UserByName(ctx, "alice")
		if err != nil {
			w.t.Fatal(err)
		}
		p, err := w.trust.Add(ctx, servertest.Principal(alice), trove.NPM, "tp-rm", trust.Spec{Issuer: "github", Repository: "acme/tp", RepositoryOwnerID: "1", Workflow: "release.yml"})
		if err != nil {
			w.t.Fatal(err)
		}
		w.publisher = p.ID
	}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/packages/npm/tp-rm/publishers/"+strconv.FormatInt(w.publisher, 10), "", nil)
	}},
	"api.policy.set": {setup: func(w *walk) { w.do(w.npmPublish("policied", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
		return w.json(http.MethodPut, "/api/v1/packages/npm/policied/policy", map[string]string{"publish_auth": "mfa"})
	}},
	"api.critical.mark": {admin: true, setup: func(w *walk) { w.do(w.npmPublish("crit", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
		return w.raw(http.MethodPut, "/api/v1/packages/npm/crit/critical", "", nil)
	}},
	"api.critical.unmark": {admin: true, setup: func(w *walk) { w.do(w.npmPublish("uncrit", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/packages/npm/uncrit/critical", "", nil)
	}},
	"api.owner.add": {request: func(w *walk) *http.Request {
		return w.raw(http.MethodPut, "/api/v1/packages/go/example.test%2Fdemo/owners/carol", "", nil)
	}},
	"api.curation.show": {request: func(w *walk) *http.Request {
		return w.raw(http.MethodGet, "/api/v1/curation/npm/left-pad", "", nil)
	}},
	"api.curation.policy": {request: func(w *walk) *http.Request {
		return w.json(http.MethodPut, "/api/v1/curation/npm/%40acme%2F%2A/policy", map[string]string{"min_age": "72h", "why": "x"})
	}},
	"api.curation.mark": {request: func(w *walk) *http.Request {
		return w.json(http.MethodPost, "/api/v1/curation/pypi/requests/marks", map[string]string{"kind": "deny", "versions": w.nextVersion(), "why": "x"})
	}},
	"api.curation.unmark": {setup: func(w *walk) {
		w.do(w.json(http.MethodPost, "/api/v1/curation/go/example.test%2Fdemo/marks", map[string]string{"kind": "tag", "versions": "v1.0.0", "why": "x"}), w.owner)
	}, request: func(w *walk) *http.Request {
		return w.json(http.MethodDelete, "/api/v1/curation/go/example.test%2Fdemo/marks", map[string]string{"kind": "tag", "versions": "v1.0.0"})
	}},
	"api.owner.remove": {setup: func(w *walk) {
		w.do(w.raw(http.MethodPut, "/api/v1/packages/pypi/demo/owners/dave", "", nil), w.owner)
	}, request: func(w *walk) *http.Request {
		return w.raw(http.MethodDelete, "/api/v1/packages/pypi/demo/owners/dave", "", nil)
	}},
}

// walkOrder returns the routes in the order the walk exercises them: the
// probe that revokes every token of the owner last.
func walkOrder(names []string) []string {
	slices.Sort(names)
	for _, last := range []string{"api.tokens.revokeall", "api.admin.tokens.revokeall"} {
		if i := slices.Index(names, last); i >= 0 {
			names = append(slices.Delete(names, i, i+1), last)
		}
	}
	return names
}

func TestEveryRouteAuthorizes(t *testing.T) {
	w := newWalk(t)
	routes := map[string]adapter.Route{}
	for _, m := range w.mounts {
		for _, r := range m.Adapter.Routes() {
			routes[m.Ecosystem+"."+r.Name+" "+r.Method] = r
		}
	}
	var names []string
	seen := map[string]bool{}
	for key, r := range routes {
		name, _, _ := strings.Cut(key, " ")
		switch r.Access {
		case adapter.Open:
			if r.Mutating() {
				t.Errorf("%s %s changes state and needs no credential", r.Method, name)
			}
		case adapter.SignIn:
			if !slices.Contains(signIns, name) {
				t.Errorf("%s %s is a sign-in endpoint the walk does not know: list it in signIns if it checks a password", r.Method, name)
			}
		case adapter.Proof:
			if !slices.Contains(proofs, name) {
				t.Errorf("%s %s takes a proof instead of a token, and the walk does not know it: list it in proofs and test it in TestProofEndpoints", r.Method, name)
			}
		case adapter.Credential:
			if _, ok := probes[name]; !ok {
				t.Errorf("%s %s needs a credential and has no probe: add one to probes", r.Method, name)
			} else if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	for name := range probes {
		if !seen[name] {
			t.Errorf("probe %s names no route that needs a credential", name)
		}
	}
	for _, name := range walkOrder(names) {
		t.Run(name, func(t *testing.T) { w.check(t, name, probes[name]) })
		if name == "api.tokens.revokeall" {
			// alice has no live token left: new ones, so that the
			// probes after it are refused for what they are about.
			w.aliceTokens()
		}
	}
	w.checkNoSecrets(t)
}

// checkNoSecrets: no token secret of any caller (nor the one npm's
// logout put in its URL) is anywhere in the audit log.
func (w *walk) checkNoSecrets(t *testing.T) {
	es, err := w.env.DB.AuditEntries(ctx, meta.AuditFilter{}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) == 0 {
		t.Fatal("the walk left no audit entries")
	}
	secrets := append([]string{w.owner, w.admin}, w.secrets...)
	for _, tok := range w.callers {
		secrets = append(secrets, tok)
	}
	for _, e := range es {
		row := fmt.Sprintf("%+v", *e)
		for _, s := range secrets {
			if s != "" && (strings.Contains(row, s) || strings.Contains(row, s[len(access.TokenPrefix):])) {
				t.Errorf("audit entry %d holds a token secret: %s", e.ID, row)
			}
		}
		if strings.Contains(strings.ReplaceAll(row, access.TokenPrefix+"REDACTED", ""), access.TokenPrefix) {
			t.Errorf("audit entry %d holds something shaped like a token: %s", e.ID, row)
		}
	}
}

// check refuses the probe's request to every caller it must deny, then
// makes it as the owner.
func (w *walk) check(t *testing.T, name string, p probe) {
	if p.setup != nil {
		p.setup(w)
	}
	deny, owner := p.deny, w.owner
	if deny == nil {
		deny = allCallers
	}
	if p.admin {
		deny, owner = append(slices.Clone(deny), adminReadOnly, ownerCaller), w.admin
	}
	for _, caller := range deny {
		req := p.request(w)
		before := w.state()
		who, mark := w.principalOf(w.callers[caller]), w.lastAudit()
		resp := w.send(req, w.callers[caller])
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s with %s = %s, want 401, 403 or 404", name, caller, resp.Status)
		}
		if after := w.state(); after != before {
			t.Errorf("%s with %s was refused but changed the state: %s → %s", name, caller, before, after)
		}
		w.checkAudit(t, name, caller, who, req, resp, mark)
	}
	if p.positive != nil {
		owner = p.positive(w)
	}
	req, who, mark := p.request(w), w.principalOf(owner), w.lastAudit()
	resp := w.send(req, owner)
	if resp.StatusCode >= 300 {
		t.Errorf("%s with the owner's token = %s: the request itself is wrong, so its refusals prove nothing", name, resp.Status)
	}
	w.checkAudit(t, name, ownerCaller, who, req, resp, mark)
}

// aliceTokens mints alice's tokens: the owner's and the callers'. Those
// they replace stay in secrets for checkNoSecrets.
func (w *walk) aliceTokens() {
	if w.owner != "" {
		w.secrets = append(w.secrets, w.owner, w.callers[readOnly], w.callers[scoped])
	}
	w.owner = w.env.Token(w.t, w.alice, nil)
	w.callers[readOnly] = w.env.Token(w.t, w.alice, nil, access.Read)
	w.callers[scoped] = w.env.Token(w.t, w.alice, []string{"npm:other", "pypi:other", "go:example.test/other"}, access.Read, access.Publish, access.Yank)
	w.callers[ownerCaller] = w.owner
}

// principalOf returns the principal of a token ("", or a token revoked
// by an earlier probe: nil, as the server will see no account).
func (w *walk) principalOf(token string) *access.Principal {
	if token == "" {
		return nil
	}
	p, err := w.env.Tokens.Authenticate(ctx, token)
	if errors.Is(err, access.ErrUnauthenticated) {
		return nil
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// lastAudit returns the id of the newest audit entry.
func (w *walk) lastAudit() int64 {
	es, err := w.env.DB.AuditEntries(ctx, meta.AuditFilter{}, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	if len(es) == 0 {
		return 0
	}
	return es[0].ID
}

// checkAudit checks the audit entries written since mark for a request
// the caller made: exactly one, naming the route, the caller's account
// and token, and the outcome of the response, for a mutating request of
// a caller with an account; none for a read or an anonymous caller, or
// one whose token an earlier probe revoked (their requests are only
// counted, see package audit).
func (w *walk) checkAudit(t *testing.T, name, caller string, p *access.Principal, req *http.Request, resp *http.Response, mark int64) {
	t.Helper()
	all, err := w.env.DB.AuditEntries(ctx, meta.AuditFilter{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var es []*meta.AuditEntry
	for _, e := range all {
		if e.ID > mark {
			es = append(es, e)
		}
	}
	if !audit.Mutating(req.Method) || caller == anonymous || p == nil {
		if len(es) != 0 {
			t.Errorf("%s %s with %s wrote %d audit entries, want none: %+v", req.Method, name, caller, len(es), *es[0])
		}
		return
	}
	if len(es) != 1 {
		t.Errorf("%s with %s wrote %d audit entries, want 1", name, caller, len(es))
		return
	}
	e := es[0]
	want := meta.AuditEntry{Action: name, UserName: p.UserName, Credential: audit.TokenCredential(p.TokenPublicID),
		Outcome: string(audit.OutcomeOf(resp.StatusCode)), Status: resp.StatusCode, Count: 1}
	got := meta.AuditEntry{Action: e.Action, UserName: e.UserName, Credential: e.Credential, Outcome: e.Outcome, Status: e.Status, Count: e.Count}
	if got != want {
		t.Errorf("%s with %s: audit entry %+v, want %+v", name, caller, got, want)
	}
	if e.Client == "" || e.RequestID == "" || e.Target == "" {
		t.Errorf("%s with %s: audit entry without a client, request ID or target: %+v", name, caller, *e)
	}
	if e.Package != "" && !strings.HasPrefix(e.Target, e.Ecosystem+":"+e.Package) {
		t.Errorf("%s with %s: audit target %q does not name its package %s:%s", name, caller, e.Target, e.Ecosystem, e.Package)
	}
}

// A walk is a Trove with every adapter, an owner (alice) with packages in
// every ecosystem, and the callers who must be refused.
type walk struct {
	t       *testing.T
	env     *servertest.Env
	mounts  []server.Mount
	owner   string // alice's token, every action on every package
	admin   string // root's token, every action on every package
	callers map[string]string
	version int
	otps    *account.NPMOTPs
	secrets []string // spare tokens' secrets, sent in URLs, and revoked ones
	alice   *trove.User
	trust   *trust.Service
	// publisher is the trusted publisher the removal probe removes.
	publisher int64
	acme      bool // the organisation acme exists (see acme)
	// web is the web interface, mounted at /web (not in mounts: its
	// pages are walked by private_test.go); log is the transparency log
	// the Go proxy serves as its checksum database, named logName.
	web *web.Handler
	log *translog.Log
	// privSHA is the digest of the private PyPI file, and privCallers the
	// tokens of private_test.go's callers (see privatePackages).
	privSHA     string
	privCallers map[string]string
}

// logName is the walk's transparency log's name (its checksum database's).
const logName = "trove.test/log"

func newWalk(t *testing.T) *walk {
	w := &walk{t: t}
	w.env = servertest.New(t, servertest.Options{Rules: []registry.Rules{npm.Rules{}, pypi.Rules{}, goproxy.Rules{}}})
	cur, err := curate.New(curate.Options{DB: w.env.DB, Registry: w.env.Registry})
	if err != nil {
		t.Fatal(err)
	}
	w.otps = account.NewNPMOTPs(w.env.DB, nil)
	issuer := trusttest.New(t)
	w.trust = trust.New(trust.Options{DB: w.env.DB, Registry: w.env.Registry, Tokens: w.env.Tokens, Audience: "trove.test", Host: "trove.test",
		Issuers: []trust.Issuer{{Name: "github", Kind: trust.GitHub, URL: issuer.URL}}})
	dir := t.TempDir()
	signer, vkey, err := translog.LoadOrCreateKey(dir, logName)
	if err != nil {
		t.Fatal(err)
	}
	if w.log, err = translog.Open(ctx, w.env.DB, signer, vkey, filepath.Join(dir, "checkpoint")); err != nil {
		t.Fatal(err)
	}
	w.env.Start(t, func(base string) []server.Mount {
		e := w.env
		var err error
		w.web, err = web.New(web.Options{BaseURL: base + "/web", Ecosystems: map[string]string{"npm": "/npm", "pypi": "/pypi", "go": "/go"},
			Registry: e.Registry, Pages: e.Pages, Users: e.Users, Tokens: e.Tokens})
		if err != nil {
			t.Fatal(err)
		}
		w.mounts = []server.Mount{
			{Prefix: "/npm", Ecosystem: "npm", Adapter: npm.New(npm.Options{Registry: e.Registry, Pages: e.Pages, Tokens: e.Tokens,
				Users: e.Users, Logins: e.Logins, WebOTP: w.otps, BaseURL: base + "/npm"})},
			{Prefix: "/pypi", Ecosystem: "pypi", Adapter: pypi.New(pypi.Options{Registry: e.Registry, Pages: e.Pages, BaseURL: base + "/pypi"})},
			{Prefix: "/go", Ecosystem: "go", Adapter: goproxy.New(goproxy.Options{Registry: e.Registry, Pages: e.Pages, Log: w.log, LogStore: e.DB})},
			{Prefix: "/api", Ecosystem: "api", Adapter: api.New(api.Options{Registry: e.Registry, Tokens: e.Tokens, Curate: cur, Trust: w.trust, Audit: e.DB})},
			{Prefix: "/_/oidc", Ecosystem: "pypi", Adapter: pypi.NewOIDC(w.trust)},
			{Prefix: "/-/npm/v1/oidc", Ecosystem: "npm", Adapter: npm.NewOIDC(w.trust)},
		}
		return append(slices.Clone(w.mounts), server.Mount{Prefix: "/web", Ecosystem: "web", Handler: w.web})
	})
	alice := w.env.User(t, "alice", false)
	bob := w.env.User(t, "bob", false)
	w.env.User(t, "carol", false)
	w.env.User(t, "dave", false)
	if err := curate.AddCurator(ctx, w.env.DB, "alice", "root", time.Now()); err != nil { // bob is not one
		t.Fatal(err)
	}
	w.alice = alice
	w.callers = map[string]string{anonymous: "", stranger: w.env.Token(t, bob, nil)}
	w.aliceTokens()
	root := w.env.User(t, "root", true)
	w.admin = w.env.Token(t, root, nil)
	w.callers[adminReadOnly] = w.env.Token(t, root, nil, access.Read)
	w.do(w.npmPublish("demo", "1.0.0"), w.owner)
	w.do(w.pypiUpload("demo", "1.0"), w.owner)
	w.do(w.goUpload("example.test/demo", "v1.0.0"), w.owner)
	return w
}

// ownerPrincipal is alice as the registry sees her owner token.
func (w *walk) ownerPrincipal() *access.Principal {
	p, err := w.env.Tokens.Authenticate(ctx, w.owner)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// state summarizes what a refused request must not change: the log, the
// owner's tokens and everyone's.
func (w *walk) state() string {
	n, err := w.env.DB.LogSize(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	alice, err := w.env.DB.UserByName(ctx, "alice")
	if err != nil {
		w.t.Fatal(err)
	}
	toks, err := w.env.Tokens.List(ctx, alice.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	all, err := w.env.DB.LiveTokens(ctx, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	live := 0
	for _, tok := range toks {
		if tok.RevokedAt.IsZero() {
			live++
		}
	}
	return fmt.Sprintf("%d log records, %d live tokens of alice, %d of everyone; %s", n, live, len(all), w.roles())
}

// carolToken returns a new token of carol's.
func (w *walk) carolToken(patterns []string, actions ...access.Action) string {
	carol, err := w.env.DB.UserByName(ctx, "carol")
	if err != nil {
		w.t.Fatal(err)
	}
	return w.env.Token(w.t, carol, patterns, actions...)
}

// spare returns the public id of a new token of alice's to revoke, and
// spareSecret the secret of one.
func (w *walk) spare() string {
	_, tok, err := w.env.Tokens.Create(ctx, w.ownerPrincipal().UserID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Read}})
	if err != nil {
		w.t.Fatal(err)
	}
	return tok.PublicID
}

func (w *walk) spareSecret() string {
	secret, _, err := w.env.Tokens.Create(ctx, w.ownerPrincipal().UserID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Read}})
	if err != nil {
		w.t.Fatal(err)
	}
	w.secrets = append(w.secrets, secret)
	return secret
}

func (w *walk) nextVersion() string {
	w.version++
	return fmt.Sprintf("1.%d.0", w.version)
}

func (w *walk) raw(method, path, contentType string, body []byte) *http.Request {
	req, err := http.NewRequest(method, w.env.URL+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func (w *walk) json(method, path string, v any) *http.Request {
	if v == nil {
		return w.raw(method, path, "", nil)
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.raw(method, path, "application/json", b)
}

// send makes the request with the token ("" for none) and returns the
// response, its body read.
func (w *walk) send(req *http.Request, token string) *http.Response {
	if token != "" {
		if strings.HasPrefix(req.URL.Path, "/pypi/") {
			req.SetBasicAuth("__token__", token)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	// The audit entry is written once the response is out: wait for it.
	if !w.env.Server.Wait(10 * time.Second) {
		w.t.Fatal("requests still running 10s after their response")
	}
	return resp
}

// do makes a request that must succeed.
func (w *walk) do(req *http.Request, token string) {
	w.t.Helper()
	if resp := w.send(req, token); resp.StatusCode >= 300 {
		w.t.Fatalf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
}

// npmDoc returns the packument npm reads before a write.
func (w *walk) npmDoc(name string) map[string]any {
	resp, err := http.Get(w.env.URL + "/npm/" + name + "?write=true")
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		w.t.Fatal(err)
	}
	return doc
}

// npmPublish returns npm's publish request for a package of one file.
func (w *walk) npmPublish(name, version string) *http.Request {
	manifest := map[string]any{"name": name, "version": version, "description": "a package"}
	pj, _ := json.Marshal(manifest)
	tgz := archivetest.TarGz(w.t, archivetest.TarEntry{Name: "package/package.json", Body: string(pj)},
		archivetest.TarEntry{Name: "package/index.js", Body: "module.exports = 1\n"})
	s512, s1 := sha512.Sum512(tgz), sha1.Sum(tgz)
	manifest["_id"] = name + "@" + version
	manifest["dist"] = map[string]any{"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]), "shasum": hex.EncodeToString(s1[:])}
	doc := map[string]any{"_id": name, "name": name, "dist-tags": map[string]any{"latest": version},
		"versions": map[string]any{version: manifest},
		"_attachments": map[string]any{name + "-" + version + ".tgz": map[string]any{
			"content_type": "application/octet-stream", "data": base64.StdEncoding.EncodeToString(tgz), "length": len(tgz)}}}
	return w.json(http.MethodPut, "/npm/"+name, doc)
}

// pypiUpload returns twine's upload of an sdist.
func (w *walk) pypiUpload(name, version string) *http.Request {
	root := name + "-" + version + "/"
	pkgInfo := "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
	sdist := archivetest.TarGz(w.t, archivetest.TarEntry{Name: root + "PKG-INFO", Body: pkgInfo}, archivetest.TarEntry{Name: root + "setup.py", Body: "\n"})
	s256, m5, b2 := sha256.Sum256(sdist), md5.Sum(sdist), blake2b.Sum256(sdist)
	var parts []servertest.Part
	for _, f := range [][2]string{{":action", "file_upload"}, {"protocol_version", "1"}, {"name", name}, {"version", version},
		{"filetype", "sdist"}, {"pyversion", "source"}, {"metadata_version", "2.1"},
		{"sha256_digest", hex.EncodeToString(s256[:])}, {"md5_digest", hex.EncodeToString(m5[:])}, {"blake2_256_digest", hex.EncodeToString(b2[:])}} {
		parts = append(parts, servertest.Part{Name: f[0], Data: []byte(f[1])})
	}
	return w.form("/pypi/legacy/", append(parts, servertest.Part{Name: "content", Filename: name + "-" + version + ".tar.gz", Data: sdist})...)
}

// goUpload returns trove publish go's upload of a module version.
func (w *walk) goUpload(mod, version string) *http.Request {
	gomod := "module " + mod + "\n\ngo 1.22\n"
	z := archivetest.ModuleZip(w.t, mod, version, map[string]string{"go.mod": gomod, "lib.go": "package lib\n"})
	return w.form("/go/-/upload", servertest.Part{Name: "module", Data: []byte(mod)}, servertest.Part{Name: "version", Data: []byte(version)},
		servertest.Part{Name: "mod", Filename: "go.mod", Data: []byte(gomod)}, servertest.Part{Name: "zip", Filename: "module.zip", Data: z})
}

// form returns a multipart POST of the parts.
func (w *walk) form(path string, parts ...servertest.Part) *http.Request {
	body, contentType := servertest.Multipart(w.t, parts...)
	return w.raw(http.MethodPost, path, contentType, body.Bytes())
}

// TestAuditReading: a user reads their own audit entries and no one
// else's, whatever the query; an administrator reads anyone's, filtered.
func TestAuditReading(t *testing.T) {
	w := newWalk(t) // alice published in every ecosystem
	bobTok := w.callers[stranger]
	w.send(w.npmPublish("demo", "9.0.0"), bobTok) // refused: bob owns nothing
	read := w.readAudit
	for _, q := range []string{"", "package=npm:demo", "action=npm.publish", "limit=1000", "outcome=ok"} {
		code, es := read(bobTok, q)
		if code != http.StatusOK {
			t.Errorf("bob reading his entries (%q) = %d", q, code)
		}
		for _, e := range es {
			if e["user"] != "bob" {
				t.Errorf("bob's query %q shows another's entry: %v", q, e)
			}
		}
	}
	if _, es := read(bobTok, "action=npm.publish"); len(es) != 1 || es[0]["outcome"] != "denied" || es[0]["target"] != "npm:demo@9.0.0" {
		t.Errorf("bob's refused publish reads back as %v, want one denied npm:demo@9.0.0", es)
	}
	for _, q := range []string{"user=alice", "all=true", "user=root&package=npm:demo"} {
		if code, es := read(bobTok, q); code != http.StatusForbidden || len(es) != 0 {
			t.Errorf("bob reading %q = %d, %d entries; want 403 and none", q, code, len(es))
		}
	}
	if code, es := read(w.owner, "user=alice&package=npm:demo"); code != http.StatusOK || len(es) == 0 {
		t.Errorf("alice naming herself = %d, %d entries", code, len(es))
	}
	code, es := read(w.admin, "all=true&action=npm.publish&package=npm:demo")
	users := map[any]bool{}
	for _, e := range es {
		users[e["user"]] = true
	}
	if code != http.StatusOK || !users["alice"] || !users["bob"] {
		t.Errorf("the administrator reading every npm:demo publish = %d, users %v; want alice's and bob's", code, users)
	}
	if code, es := read(w.admin, "user=bob"); code != http.StatusOK || len(es) == 0 || es[0]["user"] != "bob" {
		t.Errorf("the administrator reading bob's = %d, %v", code, es)
	}
	if code, _ := read(w.callers[adminReadOnly], "all=true"); code != http.StatusForbidden {
		t.Errorf("an administrator's read-only token reading all = %d, want 403", code)
	}
	for _, q := range []string{"outcome=maybe", "package=demo", "since=yesterday", "limit=100000", "before=x"} {
		if code, _ := read(w.admin, q); code != http.StatusBadRequest {
			t.Errorf("query %q = %d, want 400", q, code)
		}
	}
}

// readAudit reads GET /api/v1/audit?query with the token: the status and
// the entries.
func (w *walk) readAudit(token, query string) (int, []map[string]any) {
	w.t.Helper()
	req := w.raw(http.MethodGet, "/api/v1/audit?"+query, "", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Entries []map[string]any }
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Entries
}

// TestProofEndpoints: the endpoints that take a proof instead of a token
// change nothing without it. A leaked-token report with a well-formed
// secret that names no token, and a secret scanning report without a
// signature (the walk's server has no scanner keys), leave every token
// working.
func TestProofEndpoints(t *testing.T) {
	w := newWalk(t)
	before := w.state()
	for _, tc := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"api.tokens.leaked", w.json(http.MethodPost, "/api/v1/tokens/leaked", map[string]string{"token": access.NewToken()}), http.StatusAccepted},
		{"api.tokens.leaked", w.json(http.MethodPost, "/api/v1/tokens/leaked", map[string]string{"token": "trove_x"}), http.StatusBadRequest},
		{"api.scanning.github", w.json(http.MethodPost, "/api/v1/secret-scanning/github", []map[string]string{{"token": w.owner}}), http.StatusNotFound},
	} {
		resp := w.send(tc.req, "")
		if resp.StatusCode != tc.want {
			t.Errorf("%s without a proof = %s, want %d", tc.name, resp.Status, tc.want)
		}
	}
	if after := w.state(); after != before {
		t.Errorf("reports without a proof changed the state: %s → %s", before, after)
	}
	if _, err := w.env.Tokens.Authenticate(ctx, w.owner); err != nil {
		t.Errorf("the owner's token after reports without a proof: %v", err)
	}
}
