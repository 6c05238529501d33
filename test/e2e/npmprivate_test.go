//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// secretFiles is @acme/secret, a private package.
func secretFiles(version string) map[string]string {
	return map[string]string{
		"package.json": `{"name":"@acme/secret","version":"` + version + `","description":"the acme secret","main":"index.js","license":"UNLICENSED"}` + "\n",
		"index.js":     "module.exports = () => 'hello from @acme/secret'\n",
	}
}

// npmErrorLines returns the lines of npm's output that say what failed
// ("npm error code E404", "npm error 404 Not Found - GET …"), with the
// name of the package replaced by NAME: the lines that must not tell a
// private package from a name never published. The log file's path
// changes from run to run, and is left out.
func npmErrorLines(out, name string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "npm error") && !strings.Contains(l, "complete log") && !strings.Contains(l, ".npm/_logs") && !strings.Contains(l, "_logs/") {
			lines = append(lines, l)
		}
	}
	s := strings.Join(lines, "\n")
	s = strings.ReplaceAll(s, name, "NAME")
	return strings.ReplaceAll(s, strings.Replace(name, "/", "%2f", 1), "NAME")
}

// projectDir returns an empty project to install into.
func projectDir(t *testing.T) string {
	return writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
}

// TestNPMPrivatePackage drives private packages with the real npm: alice
// publishes @acme/secret with --access restricted; anonymous npm and bob,
// who holds no role on it, fail to view and install it exactly as for a
// name never published (E404); once alice grants bob the reader role his
// npm login token installs it, and so does a read-only token he makes
// with npm token create (what CI uses); npm access get status says
// private; npm access set status=public makes it everyone's.
func TestNPMPrivatePackage(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	aliceTok := tr.Token(t, "alice", "*", "read,read-private,publish,yank,owners")
	tr.AddUser(t, "bob")
	npmAlice := newNPM(t, tr, aliceTok)
	anon := newNPM(t, tr, "")
	dir := t.TempDir()
	aliceEnv := []string{"TROVE_TOKEN=" + aliceTok}
	must(t, "", aliceEnv, troveBin, "org", "create", "acme", "--url", tr.URL)

	src := writePackage(t, secretFiles("1.0.0"))
	wantOutput(t, "npm publish --access restricted", npmAlice.must(src, "publish", "--access", "restricted"), "+ @acme/secret@1.0.0")
	wantOutput(t, "npm access get status", npmAlice.must(dir, "access", "get", "status", "@acme/secret"), "@acme/secret: private")
	wantOutput(t, "npm view by alice", npmAlice.must(dir, "view", "@acme/secret", "description"), "the acme secret")
	wantOutput(t, "npm access list packages acme", npmAlice.must(dir, "access", "list", "packages", "acme"), "@acme/secret: read-write")

	// bob logs in with his password, as npm login does.
	npmBob := newNPM(t, tr, "")
	out, err := interactive(t, npmBob, [][2]string{{"Username:", "bob"}, {"Password:", Password}}, "login", "--auth-type=legacy")
	if err != nil {
		t.Fatalf("bob's npm login: %v\n%s", err, out)
	}

	// Anonymous and bob: the answers of a name never published.
	for _, c := range []struct {
		who string
		npm *npmClient
	}{{"anonymous", anon}, {"bob", npmBob}} {
		for _, args := range [][]string{{"view", "NAME"}, {"install", "NAME"}, {"access", "get", "status", "NAME"}} {
			run := func(name string) string {
				a := make([]string, len(args))
				for i, s := range args {
					a[i] = strings.ReplaceAll(s, "NAME", name)
				}
				return c.npm.mustFail(projectDir(t), a...)
			}
			got, never := run("@acme/secret"), run("@acme/never")
			wantOutput(t, c.who+" npm "+args[0]+" of the private package", got, "E404")
			g, w := npmErrorLines(got, "@acme/secret"), npmErrorLines(never, "@acme/never")
			if !strings.Contains(g, "404 Not Found") {
				t.Errorf("%s npm %s: no 404 in npm's error lines:\n%s", c.who, strings.Join(args, " "), got)
			}
			if g != w {
				t.Errorf("%s npm %s: a private package answers\n%s\nbut a name never published\n%s", c.who, strings.Join(args, " "), g, w)
			}
			if strings.Contains(got, "hello from") || strings.Contains(got, "the acme secret") {
				t.Errorf("%s npm %s shows the package:\n%s", c.who, args[0], got)
			}
		}
	}
	if out := anon.must(dir, "search", "secret"); strings.Contains(out, "@acme/secret") {
		t.Errorf("anonymous npm search lists the private package:\n%s", out)
	}

	// alice grants bob the reader role: his login token installs it.
	must(t, "", aliceEnv, troveBin, "owner", "grant", "npm", "@acme/secret", "bob", "reader", "--url", tr.URL)
	proj := projectDir(t)
	npmBob.must(proj, "install", "@acme/secret")
	sameFiles(t, src, filepath.Join(proj, "node_modules/@acme/secret"))
	if out := must(t, proj, nil, "node", "-e", "console.log(require('@acme/secret')())"); strings.TrimSpace(out) != "hello from @acme/secret" {
		t.Errorf("running the installed private package printed %q", out)
	}
	wantOutput(t, "bob's npm search", npmBob.must(dir, "search", "secret"), "@acme/secret")
	wantOutput(t, "bob's npm access get status", npmBob.must(dir, "access", "get", "status", "@acme/secret"), "@acme/secret: private")
	wantOutput(t, "npm access set status by a reader", npmBob.mustFail(dir, "access", "set", "status=public", "@acme/secret"), "403")

	// A read-only token from npm token create installs it too (CI).
	var created struct{ Token string }
	if err := json.Unmarshal([]byte(npmBob.must(dir, "token", "create", "--password="+Password, "--name=ci",
		"--packages-all", "--packages-and-scopes-permission=read-only", "--json")), &created); err != nil || created.Token == "" {
		t.Fatalf("npm token create: %v %+v", err, created)
	}
	ci := newNPM(t, tr, created.Token)
	ci.must(projectDir(t), "install", "@acme/secret")
	wantOutput(t, "npm publish with the read-only token", ci.mustFail(writePackage(t, secretFiles("1.0.1")), "publish"), "403")

	// Made public, everyone installs it.
	npmAlice.must(dir, "access", "set", "status=public", "@acme/secret")
	wantOutput(t, "npm access get status", anon.must(dir, "access", "get", "status", "@acme/secret"), "@acme/secret: public")
	anon.freshCache()
	proj = projectDir(t)
	anon.must(proj, "install", "@acme/secret")
	sameFiles(t, src, filepath.Join(proj, "node_modules/@acme/secret"))

	// And private again: anonymous npm view fails once more.
	npmAlice.must(dir, "access", "set", "status=private", "@acme/secret")
	if out := anon.mustFail(dir, "view", "@acme/secret"); !strings.Contains(out, "E404") || strings.Contains(out, "the acme secret") {
		t.Errorf("anonymous npm view after set status=private:\n%s", out)
	}
}
