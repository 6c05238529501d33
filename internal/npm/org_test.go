package npm

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// orgEnv is a stack where alice owns the organisation acme, with the
// package @acme/lib; bob and carol have accounts and no role in it.
type orgEnv struct {
	*env
	alice, bob, carol string
}

func newOrgEnv(t *testing.T) *orgEnv {
	e := &orgEnv{env: newEnv(t, nil)}
	e.alice, e.bob, e.carol = e.userToken("alice"), e.userToken("bob"), e.userToken("carol")
	if _, err := e.Registry.CreateOrg(ctx, e.who(e.alice), "acme"); err != nil {
		t.Fatal(err)
	}
	e.publish(e.alice, pkgJSONOf("@acme/lib", "1.0.0", nil))
	return e
}

// fresh zeroes *p and returns p, for decoding a fresh answer into it
// (json.Unmarshal adds to a map it is given).
func fresh[T any](p *T) *T {
	var zero T
	*p = zero
	return p
}

func (e *orgEnv) who(token string) *access.Principal {
	e.t.Helper()
	p, err := e.Tokens.Authenticate(context.Background(), token)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// TestNPMOrg: npm org set invites a non-member (who joins on accepting)
// and changes a member's role; npm org ls lists npm's role names; npm
// org rm removes a member.
func TestNPMOrg(t *testing.T) {
	e := newOrgEnv(t)
	url := e.reg + "/-/org/acme/user"

	// npm org set acme bob developer: an invitation, not a membership.
	r := do(t, "PUT", url, e.alice, map[string]string{"user": "@bob", "role": "developer"}).want(t, http.StatusOK).json(t)
	if r["user"] != "bob" || r["role"] != "developer" || get(r, "org", "name") != "acme" || get(r, "org", "size") != 1.0 {
		t.Errorf("npm org set = %v", r)
	}
	inv, err := e.Registry.Invitations(ctx, e.who(e.bob))
	if err != nil || len(inv) != 1 || inv[0].Role != "maintainer" {
		t.Fatalf("bob's invitations = %+v, %v; want one as maintainer", inv, err)
	}
	var roster map[string]string
	do(t, "GET", url, e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&roster))
	if !reflect.DeepEqual(roster, map[string]string{"alice": "owner"}) {
		t.Errorf("npm org ls before accepting = %v", roster)
	}
	if err := e.Registry.Answer(ctx, e.who(e.bob), "acme", true); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", url, e.bob, nil).want(t, http.StatusOK).decode(t, fresh(&roster))
	if !reflect.DeepEqual(roster, map[string]string{"alice": "owner", "bob": "developer"}) {
		t.Errorf("npm org ls = %v", roster)
	}

	// A member's role changes: admin is Trove's owner.
	r = do(t, "PUT", url, e.alice, map[string]string{"user": "bob", "role": "admin"}).want(t, http.StatusOK).json(t)
	if r["role"] != "admin" || get(r, "org", "size") != 2.0 {
		t.Errorf("npm org set admin = %v", r)
	}
	do(t, "GET", url, e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&roster))
	if roster["bob"] != "owner" {
		t.Errorf("bob after npm org set admin = %q, want owner", roster["bob"])
	}
	do(t, "PUT", url, e.alice, map[string]string{"user": "bob"}).want(t, http.StatusOK)
	do(t, "GET", url, e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&roster))
	if roster["bob"] != "developer" {
		t.Errorf("bob after npm org set without a role = %q, want developer", roster["bob"])
	}

	// Refusals, each changing nothing.
	for _, c := range []struct {
		method, url, token string
		body               any
		status             int
		msg                string
	}{
		{"PUT", url, e.alice, map[string]string{"user": "carol", "role": "superuser"}, http.StatusBadRequest, "unknown organisation role"},
		{"PUT", url, e.alice, map[string]string{"role": "developer"}, http.StatusBadRequest, "names no user"},
		{"PUT", url, e.alice, "{", http.StatusBadRequest, "is not valid"},
		{"PUT", url, e.alice, map[string]string{"user": "nobody"}, http.StatusNotFound, "no user nobody"},
		{"PUT", url, e.bob, map[string]string{"user": "carol"}, http.StatusForbidden, ""},
		{"PUT", url, e.carol, map[string]string{"user": "carol", "role": "owner"}, http.StatusNotFound, "no organisation acme"},
		{"PUT", e.reg + "/-/org/nope/user", e.alice, map[string]string{"user": "carol"}, http.StatusNotFound, "no organisation nope"},
		{"PUT", url, "", map[string]string{"user": "carol"}, http.StatusUnauthorized, "npm login"},
		{"GET", url, e.carol, nil, http.StatusNotFound, "no organisation acme"},
		{"DELETE", url, e.alice, map[string]string{"user": "carol"}, http.StatusNotFound, "carol is not a member of acme"},
		{"DELETE", url, e.alice, map[string]string{"user": "alice"}, http.StatusBadRequest, "only owner"},
		{"DELETE", url, e.alice, []byte(`{"user": 3}`), http.StatusBadRequest, "field user must be a string"},
	} {
		got := do(t, c.method, c.url, c.token, c.body)
		if got.status != c.status || !strings.Contains(got.errorText(), c.msg) {
			t.Errorf("%s %s %v: %d %q, want %d %q", c.method, c.url, c.body, got.status, got.errorText(), c.status, c.msg)
		}
	}
	if inv, _ := e.Registry.Invitations(ctx, e.who(e.carol)); len(inv) != 0 {
		t.Errorf("carol was invited by a refused request: %+v", inv)
	}

	// npm org rm acme bob.
	do(t, "DELETE", url, e.alice, map[string]string{"user": "bob"}).want(t, http.StatusOK)
	do(t, "GET", url, e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&roster))
	if !reflect.DeepEqual(roster, map[string]string{"alice": "owner"}) {
		t.Errorf("npm org ls after rm = %v", roster)
	}
}

// TestNPMTeam: npm team create, add, ls, rm and destroy.
func TestNPMTeam(t *testing.T) {
	e := newOrgEnv(t)
	if err := e.Registry.Invite(ctx, e.who(e.alice), "acme", "bob", "reader"); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry.Answer(ctx, e.who(e.bob), "acme", true); err != nil {
		t.Fatal(err)
	}
	do(t, "PUT", e.reg+"/-/org/acme/team", e.alice, map[string]string{"name": "core", "description": "x"}).want(t, http.StatusCreated)
	do(t, "PUT", e.reg+"/-/team/acme/core/user", e.alice, map[string]string{"user": "bob"}).want(t, http.StatusOK)
	var teams, users []string
	do(t, "GET", e.reg+"/-/org/acme/team", e.bob, nil).want(t, http.StatusOK).decode(t, fresh(&teams))
	do(t, "GET", e.reg+"/-/team/acme/core/user", e.bob, nil).want(t, http.StatusOK).decode(t, fresh(&users))
	if !reflect.DeepEqual(teams, []string{"acme:core"}) || !reflect.DeepEqual(users, []string{"bob"}) {
		t.Errorf("npm team ls = %v, %v", teams, users)
	}
	for _, c := range []struct {
		method, url, token string
		body               any
		status             int
		msg                string
	}{
		{"PUT", e.reg + "/-/org/acme/team", e.alice, map[string]string{"name": "core"}, http.StatusConflict, "already has a team core"},
		{"PUT", e.reg + "/-/org/acme/team", e.alice, map[string]string{"name": "Bad Name"}, http.StatusBadRequest, "team name"},
		{"PUT", e.reg + "/-/org/acme/team", e.bob, map[string]string{"name": "other"}, http.StatusForbidden, ""},
		{"PUT", e.reg + "/-/org/nope/team", e.alice, map[string]string{"name": "other"}, http.StatusNotFound, "no organisation nope"},
		{"PUT", e.reg + "/-/team/acme/core/user", e.alice, map[string]string{"user": "carol"}, http.StatusNotFound, "carol is not a member of acme"},
		{"PUT", e.reg + "/-/team/acme/none/user", e.alice, map[string]string{"user": "bob"}, http.StatusNotFound, "acme has no team none"},
		{"PUT", e.reg + "/-/team/acme/core/user", e.alice, map[string]int{"user": 1}, http.StatusBadRequest, "must be a string"},
		{"DELETE", e.reg + "/-/team/acme/core/user", e.bob, map[string]string{"user": "bob"}, http.StatusForbidden, ""},
		{"GET", e.reg + "/-/team/acme/none/user", e.alice, nil, http.StatusNotFound, "acme has no team none"},
		{"GET", e.reg + "/-/org/acme/team", e.carol, nil, http.StatusNotFound, "no organisation acme"},
		{"DELETE", e.reg + "/-/team/acme/core", e.bob, nil, http.StatusForbidden, ""},
	} {
		got := do(t, c.method, c.url, c.token, c.body)
		if got.status != c.status || !strings.Contains(got.errorText(), c.msg) {
			t.Errorf("%s %s %v: %d %q, want %d %q", c.method, c.url, c.body, got.status, got.errorText(), c.status, c.msg)
		}
	}
	do(t, "DELETE", e.reg+"/-/team/acme/core/user", e.alice, map[string]string{"user": "bob"}).want(t, http.StatusOK)
	do(t, "GET", e.reg+"/-/team/acme/core/user", e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&users))
	if len(users) != 0 {
		t.Errorf("team after npm team rm = %v", users)
	}
	do(t, "DELETE", e.reg+"/-/team/acme/core", e.alice, nil).want(t, http.StatusOK)
	do(t, "GET", e.reg+"/-/org/acme/team", e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&teams))
	if len(teams) != 0 {
		t.Errorf("teams after npm team destroy = %v", teams)
	}
}

// TestNPMAccess: npm access grant and revoke give and take a team's role
// on a package of its organisation; list collaborators shows the users
// and teams; get status answers public; set mfa (set status:
// TestNPMAccessStatus).
func TestNPMAccess(t *testing.T) {
	e := newOrgEnv(t)
	if err := e.Registry.CreateTeam(ctx, e.who(e.alice), "acme", "core"); err != nil {
		t.Fatal(err)
	}
	e.publish(e.bob, pkgJSONOf("solo", "1.0.0", nil))
	const collab = "/-/package/@acme%2flib/collaborators"
	grant := e.reg + "/-/team/acme/core/package"
	do(t, "PUT", grant, e.alice, map[string]string{"package": "@acme/lib", "permissions": "read-write"}).want(t, http.StatusOK)
	var got map[string]string
	do(t, "GET", e.reg+collab, "", nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if !reflect.DeepEqual(got, map[string]string{"acme:core": "read-write"}) {
		t.Errorf("collaborators = %v", got)
	}
	do(t, "PUT", grant, e.alice, map[string]string{"package": "@acme/lib", "permissions": "read-only"}).want(t, http.StatusOK)
	a, err := e.Registry.Access(ctx, trove.NPM, "@acme/lib")
	if err != nil || len(a.Teams) != 1 || a.Teams[0].Role != "reader" {
		t.Errorf("team grants after read-only = %+v, %v", a, err)
	}
	do(t, "GET", e.reg+collab, "", nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if got["acme:core"] != "read-only" {
		t.Errorf("collaborators = %v", got)
	}
	for _, c := range []struct {
		method, url, token string
		body               any
		status             int
		msg                string
	}{
		{"PUT", grant, e.alice, map[string]string{"package": "@acme/lib", "permissions": "admin"}, http.StatusBadRequest, "unknown permissions"},
		{"PUT", grant, e.alice, map[string]string{"permissions": "read-only"}, http.StatusBadRequest, "names no valid package"},
		{"PUT", grant, e.alice, map[string]string{"package": "nope", "permissions": "read-only"}, http.StatusNotFound, ""},
		{"PUT", grant, e.bob, map[string]string{"package": "solo", "permissions": "read-only"}, http.StatusBadRequest, "belongs to no organisation"},
		{"PUT", e.reg + "/-/team/other/core/package", e.alice, map[string]string{"package": "@acme/lib", "permissions": "read-only"}, http.StatusBadRequest, "belongs to the organisation acme, not other"},
		{"PUT", grant, e.bob, map[string]string{"package": "@acme/lib", "permissions": "read-write"}, http.StatusForbidden, ""},
		{"DELETE", grant, e.bob, map[string]string{"package": "@acme/lib"}, http.StatusForbidden, ""},
		{"GET", e.reg + "/-/package/nope/collaborators", "", nil, http.StatusNotFound, ""},
		{"GET", e.reg + "/-/package/nope/visibility", "", nil, http.StatusNotFound, ""},
		{"GET", e.reg + "/-/user/nobody/package", "", nil, http.StatusNotFound, "no user nobody"},
		{"GET", e.reg + "/-/team/acme/core/package", "", nil, http.StatusUnauthorized, ""},
		{"GET", e.reg + "/-/team/acme/nope/package", e.alice, nil, http.StatusNotFound, "has no team nope"},
		{"GET", e.reg + "/-/org/acme/package", e.bob, nil, http.StatusNotFound, "no organisation acme"},
		{"GET", e.reg + "/-/org/acme/package", "", nil, http.StatusUnauthorized, ""},
		{"POST", e.reg + "/-/package/@acme%2flib/access", e.alice, map[string]string{"access": "secret"}, http.StatusBadRequest, "unknown status"},
		{"POST", e.reg + "/-/package/@acme%2flib/access", e.alice, map[string]any{"publish_requires_tfa": true, "automation_token_overrides_tfa": true}, http.StatusBadRequest, "no token skips"},
		{"POST", e.reg + "/-/package/@acme%2flib/access", e.alice, map[string]any{}, http.StatusBadRequest, "changes nothing"},
		{"POST", e.reg + "/-/package/@acme%2flib/access", e.bob, map[string]any{"publish_requires_tfa": true}, http.StatusForbidden, ""},
		// The registry's default level here is mfa: a package cannot go below it.
		{"POST", e.reg + "/-/package/@acme%2flib/access", e.alice, map[string]any{"publish_requires_tfa": false}, http.StatusBadRequest, "can only raise the registry's default (mfa)"},
	} {
		r := do(t, c.method, c.url, c.token, c.body)
		if r.status != c.status || !strings.Contains(r.errorText(), c.msg) {
			t.Errorf("%s %s %v: %d %q, want %d %q", c.method, c.url, c.body, r.status, r.errorText(), c.status, c.msg)
		}
	}
	if a, _ := e.Registry.Access(ctx, trove.NPM, "@acme/lib"); len(a.Teams) != 1 || a.Teams[0].Role != "reader" {
		t.Errorf("a refused request changed the grants: %+v", a)
	}
	// npm access list packages acme:core and USER.
	do(t, "GET", e.reg+"/-/team/acme/core/package", e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if len(got) != 1 || got["@acme/lib"] != "read-only" {
		t.Errorf("the team's packages = %v, want @acme/lib read-only", got)
	}
	do(t, "GET", e.reg+"/-/user/bob/package", "", nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if got["solo"] != "read-write" || got["@acme/lib"] != "" {
		t.Errorf("bob's own packages = %v, want solo read-write and not the organisation's", got)
	}

	// npm access list packages acme: a member sees the organisation's
	// packages with the permission of their role.
	do(t, "GET", e.reg+"/-/org/acme/package", e.alice, nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if !reflect.DeepEqual(got, map[string]string{"@acme/lib": "read-write"}) {
		t.Errorf("npm access list packages acme = %v", got)
	}
	if err := e.Registry.Invite(ctx, e.who(e.alice), "acme", "carol", "reader"); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry.Answer(ctx, e.who(e.carol), "acme", true); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", e.reg+"/-/org/acme/package", e.carol, nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if !reflect.DeepEqual(got, map[string]string{"@acme/lib": "read-only"}) {
		t.Errorf("npm access list packages acme as a reader = %v", got)
	}

	var vis map[string]bool
	do(t, "GET", e.reg+"/-/package/@acme%2flib/visibility", "", nil).want(t, http.StatusOK).decode(t, &vis)
	if !vis["public"] {
		t.Errorf("visibility = %v", vis)
	}

	// npm access set mfa=publish: the registry's default level, mfa.
	do(t, "POST", e.reg+"/-/package/@acme%2flib/access", e.alice, map[string]any{"publish_requires_tfa": true, "automation_token_overrides_tfa": false}).want(t, http.StatusOK)

	do(t, "DELETE", grant, e.alice, map[string]string{"package": "@acme/lib"}).want(t, http.StatusOK)
	do(t, "GET", e.reg+collab, "", nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if len(got) != 0 {
		t.Errorf("collaborators after revoke = %v", got)
	}
}
