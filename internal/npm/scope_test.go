package npm

import (
	"net/http"
	"strings"
	"testing"
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
