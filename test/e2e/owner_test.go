//go:build e2e

package e2e

import (
	"strings"
	"testing"
)

// TestOwners changes a package's owners with npm owner and trove owner:
// a new owner may publish, a removed one may not, a non-owner cannot add
// herself, and every change is an owner record in the transparency log.
func TestOwners(t *testing.T) {
	tr := startTrove(t)
	aliceTok := alice(t, tr)
	tr.AddUser(t, "bob")
	tr.AddUser(t, "carol")
	npmAlice := newNPM(t, tr, aliceTok)
	npmBob := newNPM(t, tr, tr.Token(t, "bob", "*", "read,publish,owners"))
	npmCarol := newNPM(t, tr, tr.Token(t, "carol", "*", "read,publish,owners"))
	dir := t.TempDir()

	npmAlice.must(writePackage(t, libFiles("1.0.0")), "publish")
	// Addresses are private: npm owner ls gets names only (and prints
	// "<undefined>" where an address would be).
	if out := npmAlice.must(dir, "owner", "ls", "@acme/lib"); !strings.Contains(out, "alice") || strings.Contains(out, "@example.test") {
		t.Errorf("npm owner ls = %q, want alice without her address", out)
	}
	wantOutput(t, "npm owner add", npmAlice.must(dir, "owner", "add", "bob", "@acme/lib"), "+ bob (@acme/lib)")
	if out := npmBob.must(dir, "owner", "ls", "@acme/lib"); !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || strings.Contains(out, "@example.test") {
		t.Errorf("npm owner ls after add = %q, want alice and bob without addresses", out)
	}
	wantOutput(t, "publish by the new owner", npmBob.must(writePackage(t, libFiles("1.1.0")), "publish"), "+ @acme/lib@1.1.0")

	// Owner changes need the owners action: a token that may only publish
	// cannot make them, even an owner's.
	npmBobPublish := newNPM(t, tr, tr.Token(t, "bob", "*", "read,publish"))
	wantOutput(t, "npm owner rm with a publish token", npmBobPublish.mustFail(dir, "owner", "rm", "alice", "@acme/lib"), "403", "needs the owners action")
	wantOutput(t, "npm owner rm", npmBob.must(dir, "owner", "rm", "alice", "@acme/lib"), "- alice (@acme/lib)")
	if out := npmBob.must(dir, "owner", "ls", "@acme/lib"); strings.Contains(out, "alice") {
		t.Errorf("npm owner ls after rm alice:\n%s", out)
	}
	wantOutput(t, "publish by a removed owner", npmAlice.mustFail(writePackage(t, libFiles("1.2.0")), "publish"), "403", "not an owner of npm:@acme/lib")
	wantOutput(t, "a non-owner adds herself", npmCarol.mustFail(dir, "owner", "add", "carol", "@acme/lib"), "403", "not an owner of npm:@acme/lib")
	wantOutput(t, "adding an unknown user", npmBob.mustFail(dir, "owner", "add", "nobody", "@acme/lib"), "404")

	// PyPI has no owner command of its own: trove owner.
	_, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib 1.0.0"))
	if out, err := twine(t, tr, aliceTok, nil, wheel); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	env := []string{"TROVE_TOKEN=" + aliceTok}
	wantOutput(t, "trove owner add", must(t, "", env, troveBin, "owner", "add", "pypi", pyLib, "bob", "--url", tr.URL), "bob is an owner of pypi "+pyLib)
	if out := must(t, "", nil, troveBin, "owner", "list", "pypi", pyLib, "--url", tr.URL); out != "alice\nbob\n" {
		t.Errorf("trove owner list = %q, want alice and bob", out)
	}
	wantOutput(t, "trove owner remove by a non-owner", mustFail(t, "", []string{"TROVE_TOKEN=" + tr.Token(t, "carol", "*", "publish")},
		troveBin, "owner", "remove", "pypi", pyLib, "alice", "--url", tr.URL), "403 Forbidden")

	// npm: alice (first owner), add bob, remove alice; PyPI: alice (first owner), add bob.
	lines := strings.Split(strings.TrimSpace(tr.trove(t, "", "log", "key")), "\n")
	out := must(t, "", nil, troveBin, "verify", "--url", tr.URL, "--key", lines[len(lines)-1], "--state", t.TempDir(), "--audit")
	wantOutput(t, "trove verify --audit", out, "owner      5", "publish    3")
}
