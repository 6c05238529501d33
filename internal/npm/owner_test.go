package npm

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

// ownerChange sends what npm owner add|rm sends: it reads the user and the
// packument, then PUTs {_id, _rev, maintainers} to /E/-rev/R.
func (e *env) ownerChange(tok, user, escapedName string, add bool) response {
	e.t.Helper()
	u := do(e.t, "GET", e.reg+"/-/user/org.couchdb.user:"+url.PathEscape(user), tok, nil)
	if u.status != http.StatusOK {
		return u
	}
	name := u.json(e.t)["name"].(string)
	doc := do(e.t, "GET", e.reg+"/"+escapedName, "", nil, "Accept", "application/json").want(e.t, http.StatusOK).json(e.t)
	maintainers := []any{}
	for _, m := range doc["maintainers"].([]any) {
		if m.(map[string]any)["name"] != name {
			maintainers = append(maintainers, m)
		}
	}
	if add {
		maintainers = append(maintainers, map[string]any{"name": name, "email": "secret@example.test"})
	}
	rev := doc["_rev"].(string)
	return do(e.t, "PUT", e.reg+"/"+escapedName+"/-rev/"+url.PathEscape(rev), tok,
		map[string]any{"_id": doc["_id"], "_rev": rev, "maintainers": maintainers})
}

func maintainerNames(doc map[string]any) []string {
	var out []string
	for _, m := range doc["maintainers"].([]any) {
		out = append(out, m.(map[string]any)["name"].(string))
	}
	return out
}

func TestCouchUser(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.User(t, "bob", false)
	got := do(t, "GET", e.reg+"/-/user/org.couchdb.user:Bob", tok, nil).want(t, http.StatusOK).json(t)
	if got["name"] != "bob" || got["_id"] != "org.couchdb.user:bob" || got["email"] != nil {
		t.Errorf("user document = %v, want the name only", got)
	}
	r := do(t, "GET", e.reg+"/-/user/org.couchdb.user:nobody", tok, nil).want(t, http.StatusNotFound)
	if r.errorText() != "no user nobody" {
		t.Errorf("unknown user: %q", r.errorText())
	}
	do(t, "GET", e.reg+"/-/user/org.couchdb.user:bob", "", nil).want(t, http.StatusUnauthorized)
}

func TestOwners(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.userToken("alice")
	bob := e.userToken("bob")
	carol := e.userToken("carol")
	e.publish(alice, pkgJSONOf("@acme/demo", "1.0.0", nil))
	const name = "@acme%2fdemo"

	// npm owner add bob @acme/demo
	e.ownerChange(alice, "bob", name, true).want(t, http.StatusOK)
	full := e.packument("@acme/demo")
	if got := strings.Join(maintainerNames(full), ","); got != "alice,bob" {
		t.Errorf("maintainers after add = %s, want alice,bob", got)
	}
	// The email npm sent is not stored, and bob's own address is private.
	if m := full["maintainers"].([]any)[1].(map[string]any); m["email"] != nil {
		t.Errorf("maintainer bob = %v, want no email", m)
	}
	// Adding again changes nothing.
	before := e.writeDoc(name)
	e.ownerChange(alice, "bob", name, true).want(t, http.StatusOK)
	if after := e.writeDoc(name); after["_rev"] != before["_rev"] {
		t.Errorf("adding an existing owner changed the revision: %v → %v", before["_rev"], after["_rev"])
	}
	// bob may publish now, and remove alice.
	e.publish(bob, pkgJSONOf("@acme/demo", "1.1.0", nil))
	e.ownerChange(bob, "alice", name, false).want(t, http.StatusOK)
	if got := strings.Join(maintainerNames(e.packument("@acme/demo")), ","); got != "bob" {
		t.Errorf("maintainers after rm = %s, want bob", got)
	}
	pj := pkgJSONOf("@acme/demo", "1.2.0", nil)
	do(t, "PUT", e.reg+"/"+name, alice, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusForbidden)

	// The last owner stays.
	r := e.ownerChange(bob, "bob", name, false).want(t, http.StatusBadRequest)
	if !strings.Contains(r.errorText(), "keeps at least one owner") {
		t.Errorf("removing the last owner: %q", r.errorText())
	}
	// Not an owner: carol may not add herself; a token without publish may not either.
	e.ownerChange(carol, "carol", name, true).want(t, http.StatusForbidden)
	u, _ := e.Users.ByName(ctx, "bob")
	e.ownerChange(e.Token(t, u, nil, "read", "yank"), "carol", name, true).want(t, http.StatusForbidden)
	e.ownerChange(e.Token(t, u, []string{"npm:other"}), "carol", name, true).want(t, http.StatusForbidden)
	e.ownerChange(bob, "nobody", name, true).want(t, http.StatusNotFound)
	if got := strings.Join(maintainerNames(e.packument("@acme/demo")), ","); got != "bob" {
		t.Errorf("refused changes changed the maintainers: %s", got)
	}

	// Every change is one owner record, with user names only.
	entries, err := e.DB.LogEntries(ctx, "npm", "@acme/demo", "")
	if err != nil || len(entries) != 3 {
		t.Fatalf("owner records = %v, %v; want 3 (first owner, add bob, remove alice)", entries, err)
	}
	recs, err := e.DB.ReadLogRecords(ctx, entries[1].ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(recs[0]); !strings.Contains(got, "\nowner add bob\n") || strings.Contains(got, "@example.test") {
		t.Errorf("owner record:\n%s", got)
	}
	if _, err := e.Registry.Owners(ctx, trove.NPM, "@acme/demo"); err != nil {
		t.Error(err)
	}
}
