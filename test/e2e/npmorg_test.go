//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestNPMOrgTeamAccess drives npm org, npm team and npm access, unmodified,
// against an organisation: npm org set invites bob, who accepts with the
// trove CLI; a team gets him and a role on a package of the organisation,
// which npm access lists; then the role is revoked and bob removed.
func TestNPMOrgTeamAccess(t *testing.T) {
	tr := startTrove(t)
	aliceTok := alice(t, tr)
	tr.AddUser(t, "bob")
	bobTok := tr.Token(t, "bob", "*", "read,publish,owners")
	npmAlice := newNPM(t, tr, aliceTok)
	npmBob := newNPM(t, tr, bobTok)
	dir := t.TempDir()
	env := []string{"TROVE_TOKEN=" + aliceTok}
	must(t, "", env, troveBin, "org", "create", "acme", "--url", tr.URL)
	npmAlice.must(writePackage(t, libFiles("1.0.0")), "publish")

	// npm org set invites a non-member: bob is not in acme until he accepts.
	npmAlice.must(dir, "org", "set", "acme", "bob", "developer")
	if out := npmAlice.must(dir, "org", "ls", "acme"); strings.Contains(out, "bob") {
		t.Fatalf("npm org ls lists bob before he accepted:\n%s", out)
	}
	wantOutput(t, "npm team add before accepting", npmAlice.mustFail(dir, "team", "add", "acme:core", "bob"), "404")
	must(t, "", []string{"TROVE_TOKEN=" + bobTok}, troveBin, "org", "accept", "acme", "--url", tr.URL)
	wantOutput(t, "npm org ls", npmBob.must(dir, "org", "ls", "acme"), "alice", "owner", "bob", "developer")
	wantOutput(t, "npm org set by a developer", npmBob.mustFail(dir, "org", "set", "acme", "bob", "owner"), "403")

	// A team with bob, and a role on @acme/lib.
	npmAlice.must(dir, "team", "create", "acme:core")
	npmAlice.must(dir, "team", "add", "acme:core", "bob")
	wantOutput(t, "npm team ls acme", npmBob.must(dir, "team", "ls", "acme"), "acme:core")
	wantOutput(t, "npm team ls acme:core", npmBob.must(dir, "team", "ls", "acme:core"), "bob")
	npmAlice.must(dir, "access", "grant", "read-only", "acme:core", "@acme/lib")
	wantOutput(t, "npm access list collaborators", npmAlice.must(dir, "access", "list", "collaborators", "@acme/lib"), "acme:core: read-only")
	npmAlice.must(dir, "access", "grant", "read-write", "acme:core", "@acme/lib")
	wantOutput(t, "npm access list collaborators", npmAlice.must(dir, "access", "list", "collaborators", "@acme/lib"), "acme:core: read-write")
	wantOutput(t, "npm access get status", npmAlice.must(dir, "access", "get", "status", "@acme/lib"), "public")
	wantOutput(t, "npm access list packages acme", npmBob.must(dir, "access", "list", "packages", "acme"), "@acme/lib: read-write")
	wantOutput(t, "npm access list packages acme:core", npmBob.must(dir, "access", "list", "packages", "acme:core"), "@acme/lib: read-write")
	npmAlice.must(writePackage(t, plainPackage("alice-own", "1.0.0")), "publish")
	wantOutput(t, "npm access list packages alice", npmBob.must(dir, "access", "list", "packages", "alice"), "alice-own: read-write")
	wantOutput(t, "npm access revoke by a developer", npmBob.mustFail(dir, "access", "revoke", "acme:core", "@acme/lib"), "403")

	npmAlice.must(dir, "access", "revoke", "acme:core", "@acme/lib")
	if out := npmAlice.must(dir, "access", "list", "collaborators", "@acme/lib"); strings.Contains(out, "acme:core") {
		t.Errorf("npm access list collaborators after revoke:\n%s", out)
	}
	npmAlice.must(dir, "team", "rm", "acme:core", "bob")
	npmAlice.must(dir, "team", "destroy", "acme:core")
	npmAlice.must(dir, "org", "rm", "acme", "bob")
	if out := npmAlice.must(dir, "org", "ls", "acme"); strings.Contains(out, "bob") {
		t.Errorf("npm org ls after npm org rm:\n%s", out)
	}
}
