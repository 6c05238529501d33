package authz

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// The probes of roles, organisations and teams (internal/api/org.go).
// alice owns the organisation acme, with the team core, the member carol
// and the package orgpkg; bob (the stranger) owns bobco, which invites
// alice.
func init() {
	for name, p := range map[string]probe{
		"api.access.user.grant": {request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/api/v1/packages/npm/demo/access/users/carol", map[string]string{"role": "maintainer"})
		}},
		"api.access.user.revoke": {setup: func(w *walk) {
			w.do(w.json(http.MethodPut, "/api/v1/packages/npm/demo/access/users/dave", map[string]string{"role": "reader"}), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.raw(http.MethodDelete, "/api/v1/packages/npm/demo/access/users/dave", "", nil)
		}},
		"api.access.team.grant": {setup: acme, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/api/v1/packages/npm/orgpkg/access/teams/core", map[string]string{"role": "maintainer"})
		}},
		"api.access.team.revoke": {setup: func(w *walk) {
			acme(w)
			w.do(w.json(http.MethodPut, "/api/v1/packages/npm/orgpkg/access/teams/core", map[string]string{"role": "reader"}), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.raw(http.MethodDelete, "/api/v1/packages/npm/orgpkg/access/teams/core", "", nil)
		}},
		// Owners make a package private or public, and an organisation's
		// new packages start private (private_test.go proves what that hides).
		"api.access.set": {setup: func(w *walk) { w.do(w.npmPublish("privy", "1.0.0"), w.owner) }, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/api/v1/packages/npm/privy/access", map[string]bool{"private": true})
		}},
		"api.org.private": {setup: func(w *walk) {
			if _, err := w.env.Registry.CreateOrg(ctx, w.ownerPrincipal(), "privco"); err != nil {
				w.t.Fatal(err)
			}
		}, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/api/v1/orgs/privco/private", map[string]bool{"private": true})
		}},
		"api.transfer": {setup: func(w *walk) {
			acme(w)
			w.do(w.npmPublish("moved", "1.0.0"), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.json(http.MethodPost, "/api/v1/packages/npm/moved/transfer", map[string]string{"org": "acme"})
		}},
		// Anyone lists their own organisations and invitations, and creates
		// organisations with the owners action.
		"api.orgs.list":   {deny: []string{anonymous}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/api/v1/orgs", "", nil) }},
		"api.invitations": {deny: []string{anonymous}, request: func(w *walk) *http.Request { return w.raw(http.MethodGet, "/api/v1/invitations", "", nil) }},
		"api.orgs.create": {deny: []string{anonymous, readOnly, scoped}, request: func(w *walk) *http.Request {
			return w.json(http.MethodPost, "/api/v1/orgs", map[string]string{"name": "org" + w.nextVersion()})
		}},
		// Members read their organisation, with any token of theirs.
		"api.org": {deny: []string{anonymous, stranger}, setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/api/v1/orgs/acme", "", nil)
		}},
		// Owners (and administrators) review the roles of their package or
		// organisation; members who are not owners may not.
		"api.review": {request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/api/v1/packages/npm/demo/review", "", nil)
		}},
		"api.org.review": {setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/api/v1/orgs/acme/review", "", nil)
		}},
		"api.org.member.set": {setup: acme, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/api/v1/orgs/acme/members/carol", map[string]string{"role": "maintainer"})
		}},
		"api.org.member.remove": {setup: func(w *walk) {
			acme(w)
			w.join("acme", "dave")
		}, request: func(w *walk) *http.Request {
			return w.raw(http.MethodDelete, "/api/v1/orgs/acme/members/dave", "", nil)
		}},
		"api.org.invite": {setup: acme, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/api/v1/orgs/acme/invitations/bob", map[string]string{"role": "reader"})
		}},
		"api.invitation.accept": {setup: func(w *walk) { w.invited("bobco") }, request: func(w *walk) *http.Request {
			return w.raw(http.MethodPut, "/api/v1/invitations/bobco", "", nil)
		}},
		"api.invitation.decline": {setup: func(w *walk) { w.invited("bobco2") }, request: func(w *walk) *http.Request {
			return w.raw(http.MethodDelete, "/api/v1/invitations/bobco2", "", nil)
		}},
		"api.org.team.create": {setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodPut, "/api/v1/orgs/acme/teams/t"+w.nextVersion(), "", nil)
		}},
		"api.org.team.delete": {setup: func(w *walk) {
			acme(w)
			w.do(w.raw(http.MethodPut, "/api/v1/orgs/acme/teams/gone", "", nil), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.raw(http.MethodDelete, "/api/v1/orgs/acme/teams/gone", "", nil)
		}},
		"api.org.team.member.add": {setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodPut, "/api/v1/orgs/acme/teams/core/members/carol", "", nil)
		}},
		"api.org.team.member.remove": {setup: func(w *walk) {
			acme(w)
			w.do(w.raw(http.MethodPut, "/api/v1/orgs/acme/teams/core/members/carol", "", nil), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.raw(http.MethodDelete, "/api/v1/orgs/acme/teams/core/members/carol", "", nil)
		}},
		// npm org, npm team and npm access (internal/npm/org.go).
		"npm.org.members": {deny: []string{anonymous, stranger}, setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/npm/-/org/acme/user", "", nil)
		}},
		"npm.org.member.set": {setup: acme, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/npm/-/org/acme/user", map[string]string{"user": "carol", "role": "developer"})
		}},
		"npm.org.member.remove": {setup: func(w *walk) {
			acme(w)
			w.join("acme", "dave")
		}, request: func(w *walk) *http.Request {
			return w.json(http.MethodDelete, "/npm/-/org/acme/user", map[string]string{"user": "dave"})
		}},
		"npm.org.teams": {deny: []string{anonymous, stranger}, setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/npm/-/org/acme/team", "", nil)
		}},
		"npm.org.team.create": {setup: acme, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/npm/-/org/acme/team", map[string]string{"name": "n" + w.nextVersion()})
		}},
		"npm.org.team.delete": {setup: func(w *walk) {
			acme(w)
			w.do(w.json(http.MethodPut, "/npm/-/org/acme/team", map[string]string{"name": "npmgone"}), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.raw(http.MethodDelete, "/npm/-/team/acme/npmgone", "", nil)
		}},
		"npm.org.team.members": {deny: []string{anonymous, stranger}, setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/npm/-/team/acme/core/user", "", nil)
		}},
		"npm.org.team.member.add": {setup: acme, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/npm/-/team/acme/core/user", map[string]string{"user": "carol"})
		}},
		"npm.org.team.member.remove": {setup: func(w *walk) {
			acme(w)
			w.do(w.json(http.MethodPut, "/npm/-/team/acme/core/user", map[string]string{"user": "carol"}), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.json(http.MethodDelete, "/npm/-/team/acme/core/user", map[string]string{"user": "carol"})
		}},
		"npm.access.team.grant": {setup: acme, request: func(w *walk) *http.Request {
			return w.json(http.MethodPut, "/npm/-/team/acme/core/package", map[string]string{"package": "orgpkg", "permissions": "read-write"})
		}},
		"npm.access.team.revoke": {setup: func(w *walk) {
			acme(w)
			w.do(w.json(http.MethodPut, "/npm/-/team/acme/core/package", map[string]string{"package": "orgpkg", "permissions": "read-only"}), w.owner)
		}, request: func(w *walk) *http.Request {
			return w.json(http.MethodDelete, "/npm/-/team/acme/core/package", map[string]string{"package": "orgpkg"})
		}},
		"npm.access.packages": {deny: []string{anonymous, stranger}, setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/npm/-/org/acme/package", "", nil)
		}},
		"npm.access.team.packages": {deny: []string{anonymous, stranger}, setup: acme, request: func(w *walk) *http.Request {
			return w.raw(http.MethodGet, "/npm/-/team/acme/core/package", "", nil)
		}},
		"npm.access.set": {request: func(w *walk) *http.Request {
			return w.json(http.MethodPost, "/npm/-/package/demo/access", map[string]bool{"publish_requires_tfa": true})
		}},
	} {
		probes[name] = p
	}
}

// acme makes, once, the organisation acme of alice's with the team core,
// the member carol and the package orgpkg.
func acme(w *walk) {
	if w.acme {
		return
	}
	w.acme = true
	alice := w.ownerPrincipal()
	if _, err := w.env.Registry.CreateOrg(ctx, alice, "acme"); err != nil {
		w.t.Fatal(err)
	}
	if err := w.env.Registry.CreateTeam(ctx, alice, "acme", "core"); err != nil {
		w.t.Fatal(err)
	}
	w.join("acme", "carol")
	w.do(w.npmPublish("orgpkg", "1.0.0"), w.owner)
	if err := w.env.Registry.Transfer(ctx, alice, trove.NPM, "orgpkg", registry.Transfer{Org: "acme"}); err != nil {
		w.t.Fatal(err)
	}
}

// principal returns a principal of the user with every action.
func (w *walk) principal(name string) *access.Principal {
	u, err := w.env.DB.UserByName(ctx, name)
	if err != nil {
		w.t.Fatal(err)
	}
	return &access.Principal{UserID: u.ID, UserName: u.Name, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
}

// join has alice invite the user to the organisation as a reader, and the
// user accept.
func (w *walk) join(org, user string) {
	if err := w.env.Registry.Invite(ctx, w.ownerPrincipal(), org, user, "reader"); err != nil {
		w.t.Fatal(err)
	}
	if err := w.env.Registry.Answer(ctx, w.principal(user), org, true); err != nil {
		w.t.Fatal(err)
	}
}

// invited has bob create the organisation and invite alice to it.
func (w *walk) invited(org string) {
	bob := w.principal("bob")
	if _, err := w.env.Registry.CreateOrg(ctx, bob, org); err != nil {
		w.t.Fatal(err)
	}
	if err := w.env.Registry.Invite(ctx, bob, org, "alice", "maintainer"); err != nil {
		w.t.Fatal(err)
	}
}

// roles summarizes the roles a refused request must not change: alice's
// organisations and invitations, acme's members, invitations and teams,
// and the grants of the packages the probes change.
func (w *walk) roles() string {
	alice := w.ownerPrincipal()
	orgs, err := w.env.Registry.Orgs(ctx, alice)
	if err != nil {
		w.t.Fatal(err)
	}
	invs, err := w.env.Registry.Invitations(ctx, alice)
	if err != nil {
		w.t.Fatal(err)
	}
	s := fmt.Sprintf("orgs %v, invitations %d", orgs, len(invs))
	if w.acme {
		v, err := w.env.Registry.Org(ctx, alice, "acme")
		if err != nil {
			w.t.Fatal(err)
		}
		s += fmt.Sprintf("; acme %v %d %v", v.Members, len(v.Invitations), v.Teams)
	}
	for _, name := range []string{"demo", "orgpkg", "moved", "privy"} {
		if a, err := w.env.Registry.Access(ctx, trove.NPM, name); err == nil {
			private, _ := w.env.Registry.Private(ctx, trove.NPM, name)
			s += fmt.Sprintf("; %s %+v private %v", name, *a, private)
		}
	}
	for _, org := range []string{"acme", "privco"} {
		if o, err := w.env.DB.OrgByName(ctx, org); err == nil {
			s += fmt.Sprintf("; %s private %v", org, o.PrivateDefault)
		}
	}
	return s
}

// TestAuditReadingOrganisation: an organisation's owners read the audit
// entries on its packages and its own routes, whoever made them, and
// nothing else; its other members and strangers read none of it.
func TestAuditReadingOrganisation(t *testing.T) {
	w := newWalk(t)
	acme(w) // alice owns acme, carol reads it, orgpkg is acme's
	w.do(w.npmPublish("orgpkg", "1.1.0"), w.owner)
	w.send(w.npmPublish("orgpkg", "9.0.0"), w.callers[stranger]) // bob: refused
	w.send(w.npmPublish("demo", "9.1.0"), w.callers[stranger])   // bob, not acme's
	w.do(w.json(http.MethodPut, "/api/v1/orgs/acme/invitations/dave", map[string]string{"role": "reader"}), w.owner)

	code, es := w.readAudit(w.owner, "org=acme")
	if code != http.StatusOK {
		t.Fatalf("alice reading acme's entries = %d", code)
	}
	seen := map[string]bool{}
	for _, e := range es {
		target, _ := e["target"].(string)
		switch {
		case strings.HasPrefix(target, "npm:orgpkg@"):
			seen[fmt.Sprint(e["user"], " ", target, " ", e["outcome"])] = true
		case target == "/api/v1/orgs/acme/invitations/dave":
			seen["invitation"] = true
		default:
			t.Errorf("acme's audit log shows an entry that is not about acme: %v", e)
		}
	}
	for _, want := range []string{"alice npm:orgpkg@1.1.0 ok", "bob npm:orgpkg@9.0.0 denied", "invitation"} {
		if !seen[want] {
			t.Errorf("acme's audit log lacks %q; it has %v", want, seen)
		}
	}
	carol := w.carolToken(nil, access.Read, access.ManageTokens)
	for _, tc := range []struct {
		who, token, query string
		want              int
	}{
		{"carol, a reader of acme", carol, "org=acme", http.StatusForbidden},
		{"bob, a stranger to acme", w.callers[stranger], "org=acme", http.StatusNotFound},
		{"bob, of an organisation that does not exist", w.callers[stranger], "org=nope", http.StatusNotFound},
		{"alice, with all=", w.owner, "org=acme&all=true", http.StatusBadRequest},
		{"alice, with a read-only token", w.callers[readOnly], "org=acme", http.StatusForbidden},
	} {
		if code, es := w.readAudit(tc.token, tc.query); code != tc.want || len(es) != 0 {
			t.Errorf("%s reading %q = %d with %d entries, want %d and none", tc.who, tc.query, code, len(es), tc.want)
		}
	}
	// orgpkg's first version (alice's, before she gave it to acme), the
	// second, and bob's refused one.
	if code, es := w.readAudit(w.admin, "org=acme&action=npm.publish"); code != http.StatusOK || len(es) != 3 {
		t.Errorf("the administrator reading acme's publishes = %d with %d entries, want 3", code, len(es))
	}
}
