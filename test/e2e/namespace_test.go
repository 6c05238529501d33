//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestNamespacesWithRealClients checks with the real npm and go commands
// that namespaces are owned: bob cannot publish in alice's npm scope, nor
// a Go module below alice's module (where the go command would otherwise
// resolve her package paths to his module), nor a reserved module path;
// nor, with npm, look-alikes of existing and of popular names, but for
// the names the configuration allows.
func TestNamespacesWithRealClients(t *testing.T) {
	tr := startTrove(t, "TROVE_NAMESPACES_POPULAR_ALLOW=npm:expresss")
	aliceToken := alice(t, tr)
	tr.AddUser(t, "bob")
	bobToken := tr.Token(t, "bob", "*", "read,publish,yank")

	// npm: @alice is alice's.
	scoped := func(version string) map[string]string {
		return map[string]string{
			"package.json": `{"name":"@alice/tool","version":"` + version + `","description":"a tool","main":"index.js","license":"MIT"}` + "\n",
			"index.js":     "module.exports = 'tool'\n",
		}
	}
	bob := newNPM(t, tr, bobToken)
	out := bob.mustFail(writePackage(t, scoped("1.0.0")), "publish")
	wantOutput(t, "bob's npm publish of @alice/tool", out, "403", "@alice belongs to the user alice")
	newNPM(t, tr, aliceToken).must(writePackage(t, scoped("1.0.0")), "publish")
	out = bob.mustFail(writePackage(t, map[string]string{
		"package.json": `{"name":"@alice/t00l","version":"1.0.0","license":"MIT"}` + "\n",
	}), "publish")
	wantOutput(t, "bob's npm publish of a look-alike in @alice", out, "403")
	// Look-alikes of an existing name: digits for letters, dropped dashes,
	// rn for m.
	lookalike := func(name string) map[string]string {
		return map[string]string{"package.json": `{"name":"` + name + `","version":"1.0.0","license":"MIT"}` + "\n"}
	}
	newNPM(t, tr, aliceToken).must(writePackage(t, lookalike("left-pad-moment")), "publish")
	for _, name := range []string{"1eft-pad-moment", "leftpad-m0ment", "left-pad-rnoment"} {
		out = bob.mustFail(writePackage(t, lookalike(name)), "publish")
		wantOutput(t, "bob's npm publish of "+name, out, "403", `package name "`+name+`" is too similar to the existing package "left-pad-moment"`)
	}
	// Look-alikes of popular names (the built-in list), which no one here
	// published: a typo, and an affix typosquats add.
	for _, tc := range []struct{ name, popular string }{{"lodahs", "lodash"}, {"node-lodash", "lodash"}} {
		out = bob.mustFail(writePackage(t, lookalike(tc.name)), "publish")
		wantOutput(t, "bob's npm publish of "+tc.name, out, "403",
			`package name "`+tc.name+`" is too similar to the popular package "`+tc.popular+`"; choose another name, or ask an administrator`)
	}
	bob.must(writePackage(t, lookalike("expresss")), "publish") // allowed by the configuration

	// Go: alice's module example.test/owned has a package util; bob's
	// module example.test/owned/util would take its place.
	root := t.TempDir()
	owned, shadow, app := filepath.Join(root, "owned"), filepath.Join(root, "shadow"), filepath.Join(root, "app")
	writeFiles(t, owned, map[string]string{
		"go.mod":       "module example.test/owned\n\ngo 1.22\n",
		"util/util.go": "// Package util is alice's.\npackage util\n\n// Who says whose it is.\nfunc Who() string { return \"alice\" }\n",
	})
	writeFiles(t, shadow, map[string]string{
		"go.mod":  "module example.test/owned/util\n\ngo 1.22\n",
		"util.go": "// Package util is bob's.\npackage util\n\n// Who says whose it is.\nfunc Who() string { return \"bob\" }\n",
	})
	writeFiles(t, app, map[string]string{
		"go.mod":  "module example.test/app\n\ngo 1.22\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.test/owned/util\"\n)\n\nfunc main() { fmt.Println(util.Who()) }\n",
	})
	as := func(token string) []string { return []string{"TROVE_TOKEN=" + token, "TROVE_URL=" + tr.URL} }
	must(t, "", as(aliceToken), troveBin, "publish", "go", owned, "--version", "v1.0.0")
	out = mustFail(t, "", as(bobToken), troveBin, "publish", "go", shadow, "--version", "v1.0.0")
	wantOutput(t, "bob publishing example.test/owned/util", out, "403", "example.test/owned")

	addr := strings.TrimPrefix(tr.URL, "http://")
	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_LISTEN=" + addr}, troveBin, "log", "gosumdb", "--data", tr.Data))
	env := goEnv(t, tr, gosumdb, t.TempDir())
	must(t, app, env, "go", "get", "example.test/owned/util")
	if out := must(t, app, env, "go", "run", "."); strings.TrimSpace(out) != "alice" {
		t.Errorf("go run of a program importing example.test/owned/util = %q, want alice's package", out)
	}
	if out := must(t, app, env, "go", "list", "-m", "all"); strings.Contains(out, "example.test/owned/util") {
		t.Errorf("the build uses a module example.test/owned/util:\n%s", out)
	}

	// A reserved path: only administrators and designated owners.
	reserved := filepath.Join(root, "reserved")
	writeFiles(t, reserved, map[string]string{"go.mod": "module github.com/someone/lib\n\ngo 1.22\n", "lib.go": "package lib\n"})
	out = mustFail(t, "", as(aliceToken), troveBin, "publish", "go", reserved, "--version", "v1.0.0")
	wantOutput(t, "publishing github.com/someone/lib", out, "403", "reserved")
}
