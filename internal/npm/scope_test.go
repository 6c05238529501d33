package npm

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server/servertest"
)

// tryPublish publishes a package with token and returns the response.
func (e *env) tryPublish(token, name, version string) response {
	e.t.Helper()
	pj := pkgJSONOf(name, version, nil)
	return do(e.t, "PUT", e.reg+"/"+strings.Replace(name, "/", "%2f", 1), token, publishDoc(e.t, e.reg, pj, pkgTgz(e.t, pj)))
}

// TestScopesAreOwned checks that a scope named after a user is theirs, and
// that any other scope belongs to whoever published in it first and the
// owners they add.
func TestScopesAreOwned(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob, carol := e.userToken("alice"), e.userToken("bob"), e.userToken("carol")

	// @alice is alice's, before she publishes anything.
	r := e.tryPublish(bob, "@alice/tool", "1.0.0").want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "@alice belongs to the user alice") {
		t.Errorf("bob publishing in @alice: %q", r.errorText())
	}
	e.tryPublish(alice, "@alice/tool", "1.0.0").want(t, http.StatusOK)

	// @acme is claimed by its first publish.
	e.tryPublish(bob, "@acme/core", "1.0.0").want(t, http.StatusOK)
	r = e.tryPublish(carol, "@acme/extra", "1.0.0").want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "@acme is claimed") {
		t.Errorf("carol publishing in @acme: %q", r.errorText())
	}
	e.tryPublish(bob, "@acme/extra", "1.0.0").want(t, http.StatusOK)
	// An owner bob adds may create packages in the scope.
	doc := e.writeDoc("@acme/core")
	doc["maintainers"] = []map[string]string{{"name": "bob"}, {"name": "carol"}}
	do(t, "PUT", e.reg+"/@acme%2fcore/-rev/"+doc["_rev"].(string), bob, map[string]any{"_id": "@acme/core", "_rev": doc["_rev"], "maintainers": doc["maintainers"]}).want(t, http.StatusOK)
	e.tryPublish(carol, "@acme/third", "1.0.0").want(t, http.StatusOK)

	// Administrators may publish anywhere; the scope is then theirs.
	root := e.Token(t, e.User(t, "root", true), nil)
	e.tryPublish(root, "@alice/admin-tool", "1.0.0").want(t, http.StatusOK)
	e.tryPublish(root, "@free/x", "1.0.0").want(t, http.StatusOK)
	e.tryPublish(carol, "@free/y", "1.0.0").want(t, http.StatusForbidden)

	// Look-alike names are refused in scopes too: scope and name.
	for _, name := range []string{"@acrne/core", "@acme/c0re", "@a-cme/core", "@acme/co.re"} {
		r := e.tryPublish(bob, name, "1.0.0").want(t, http.StatusForbidden)
		if !strings.Contains(r.errorText(), "too similar") {
			t.Errorf("publishing %s: %q, want a look-alike refusal", name, r.errorText())
		}
	}
}

// TestOrgScopes: the scope named after an organisation is the
// organisation's: its maintainers and owners create packages there, which
// belong to it, and its readers and outsiders cannot; a scope that other
// users' packages claimed before the organisation existed stays theirs.
func TestOrgScopes(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob, carol, dave := e.userToken("alice"), e.userToken("bob"), e.userToken("carol"), e.userToken("dave")
	who := func(token string) *access.Principal {
		p, err := e.Tokens.Authenticate(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	// dave claims @early before anyone makes an organisation of that name.
	e.tryPublish(dave, "@early/lib", "1.0.0").want(t, http.StatusOK)
	for _, org := range []string{"acme", "early"} {
		if _, err := e.Registry.CreateOrg(ctx, who(alice), org); err != nil {
			t.Fatal(err)
		}
	}
	for user, role := range map[string]string{"bob": "maintainer", "carol": "reader"} {
		if err := e.Registry.Invite(ctx, who(alice), "acme", user, role); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Registry.Answer(ctx, who(bob), "acme", true); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry.Answer(ctx, who(carol), "acme", true); err != nil {
		t.Fatal(err)
	}
	e.tryPublish(bob, "@acme/core", "1.0.0").want(t, http.StatusOK)
	for _, token := range []string{carol, dave} {
		r := e.tryPublish(token, "@acme/other", "1.0.0").want(t, http.StatusForbidden)
		if !strings.Contains(r.errorText(), "@acme belongs to the organisation acme") {
			t.Errorf("publishing in @acme as a reader or an outsider: %q", r.errorText())
		}
	}
	a, err := e.Registry.Access(ctx, "npm", "@acme/core")
	if err != nil || a.Org != "acme" || len(a.Users) != 0 {
		t.Errorf("Access(@acme/core) = %+v, %v; want acme's, without user grants", a, err)
	}
	// The organisation's owner is an owner of its packages: npm owner add works for her.
	doc := e.writeDoc("@acme/core")
	doc["maintainers"] = []map[string]string{{"name": "carol"}}
	do(t, "PUT", e.reg+"/@acme%2fcore/-rev/"+doc["_rev"].(string), alice, map[string]any{"_id": "@acme/core", "_rev": doc["_rev"], "maintainers": doc["maintainers"]}).want(t, http.StatusOK)
	// @early stays dave's: alice's organisation does not take it over.
	e.tryPublish(alice, "@early/next", "1.0.0").want(t, http.StatusForbidden)
	e.tryPublish(dave, "@early/next", "1.0.0").want(t, http.StatusOK)
}

// TestLookalikeNames checks the look-alike refusals beyond existing
// packages: names that read like the names a reservation keeps (for users
// other than its owners), and names outside ASCII, which npm's rules
// refuse before any look-alike check could be fooled by them.
func TestLookalikeNames(t *testing.T) {
	e := newEnvWith(t, servertest.Options{Reserved: []registry.Reservation{
		{Pattern: "npm:@acme/*", Owners: []string{"carol"}},
		{Pattern: "npm:react"},
	}}, nil)
	bob, carol := e.userToken("bob"), e.userToken("carol")
	for _, name := range []string{"@acrne/core", "@a-cme/core", "@acm3/x", "re-act", "r.eact"} {
		r := e.tryPublish(bob, name, "1.0.0")
		if name == "@acm3/x" {
			r.want(t, http.StatusOK) // 3 and e are not folded
			continue
		}
		r.want(t, http.StatusForbidden)
		if !strings.Contains(r.errorText(), "too similar to the names reserved by this registry's configuration") {
			t.Errorf("bob publishing %s: %q, want a refusal naming the reservation", name, r.errorText())
		}
	}
	r := e.tryPublish(bob, "re-act", "1.0.0")
	if !strings.Contains(r.errorText(), `"re-act"`) || !strings.Contains(r.errorText(), "(npm:react)") {
		t.Errorf("refusal %q, want it to name the name and the reserved pattern", r.errorText())
	}
	// Those the reservation is for may create its look-alikes; nothing
	// was claimed by bob's refused uploads.
	e.tryPublish(carol, "@acrne/core", "1.0.0").want(t, http.StatusOK)
	// Confusable characters outside ASCII never make a name.
	for _, name := range []string{"rеact", "lοdash", "ｒｅａｃｔ", "@аcme/core"} {
		r := e.tryPublish(bob, name, "1.0.0").want(t, http.StatusBadRequest)
		if !strings.Contains(r.errorText(), "use only lowercase letters") {
			t.Errorf("bob publishing %s: %q, want the name refused", name, r.errorText())
		}
	}
	// Prohibited names cannot be taken by a look-alike either.
	r = e.tryPublish(bob, "node-modules", "1.0.0").want(t, http.StatusBadRequest)
	if !strings.Contains(r.errorText(), "reserved") {
		t.Errorf("publishing node-modules: %q, want it refused as reserved", r.errorText())
	}
}
