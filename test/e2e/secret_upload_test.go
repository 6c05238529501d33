//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// TestUploadWithTokenRejected: an upload holding a Trove API token is
// refused before anyone can install it, naming the file and line and not
// the secret, and the token, if live, is revoked at once and its owner
// mailed where it was found (PKM-06). With the real clients: npm publish
// of a package holding the publisher's own token (npm shows the message,
// the token then answers 401 to npm whoami, the package is not there);
// twine upload of a wheel holding another user's token (the reason phrase
// names the file and line; that token is dead too); trove publish go of
// a module holding a token that is not live (refused, saying so).
func TestUploadWithTokenRejected(t *testing.T) {
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@localhost>")
	tok := alice(t, tr)
	tr.AddUser(t, "bob")
	bobs := tr.Token(t, "bob", "*", "read,publish")

	// npm: the publisher's own token, line 4 of lib/config.js.
	npmAlice := newNPM(t, tr, tok)
	npmAlice.must(writePackage(t, libFiles("1.0.0")), "whoami")
	files := plainPackage("leaky", "1.0.0")
	files["lib/config.js"] = "// Settings of the leaky package.\nmodule.exports = {\n  registry: 'http://127.0.0.1/npm/',\n  token: '" + tok + "',\n}\n"
	out := npmAlice.mustFail(writePackage(t, files), "publish")
	wantOutput(t, "npm publish of a package holding a token", out, "400", "leaky 1.0.0 was not published", "package/lib/config.js:4",
		"live Trove API token", "revoked now")
	if strings.Contains(out, tok[len("trove_"):]) {
		t.Errorf("npm shows the secret:\n%s", out)
	}
	wantOutput(t, "npm whoami with the token found", npmAlice.mustFail(writePackage(t, libFiles("1.0.0")), "whoami"), "401")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	wantOutput(t, "npm install of the refused package", newNPM(t, tr, "").mustFail(proj, "install", "leaky"), "404")
	wantMail(t, smtp, "alice@example.test", "Trove security notice for alice: an API token was found exposed",
		"package/lib/config.js:4 in the upload of npm leaky 1.0.0 (leaky-1.0.0.tgz)", "upload scanner", "no longer works")

	// twine: bob's token in a wheel alice uploads, line 3 of a module.
	tok2 := tr.Token(t, "alice", "*", "read,publish")
	dir := pyProject(t, "trove-e2e-leaky", "1.0.0", "leaky")
	conf := filepath.Join(dir, "src", "trove_e2e_leaky", "conf.py")
	if err := os.WriteFile(conf, []byte("# Where to publish.\nURL = 'http://127.0.0.1/pypi/legacy/'\nTOKEN = '"+bobs+"'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, wheel := pyBuild(t, dir)
	out, err := twine(t, tr, tok2, nil, wheel)
	if err == nil {
		t.Fatalf("twine upload of a wheel holding a token succeeded:\n%s", out)
	}
	wantOutput(t, "twine upload of a wheel holding a token", out, "400", "trove_e2e_leaky/conf.py:3", "live Trove API token", "revoked now",
		"("+bobs[:10]+"...)")
	if strings.Contains(out, bobs[len("trove_"):]) {
		t.Errorf("twine shows the secret:\n%s", out)
	}
	if out, err := pip(t, tr, "download", "--no-deps", "-d", t.TempDir(), "trove-e2e-leaky"); err == nil {
		t.Errorf("pip downloaded the refused project:\n%s", out)
	}
	wantOutput(t, "npm whoami with bob's token", newNPM(t, tr, bobs).mustFail(writePackage(t, libFiles("1.0.0")), "whoami"), "401")
	wantMail(t, smtp, "bob@example.test", "Trove security notice for bob: an API token was found exposed",
		"trove_e2e_leaky/conf.py:3 in the upload of pypi trove-e2e-leaky 1.0.0")

	// trove publish go: a revoked token is not live, and still refused.
	mod := filepath.Join(t.TempDir(), "leakymod")
	writeFiles(t, mod, map[string]string{
		"go.mod":          "module example.test/leakymod\n\ngo 1.22\n",
		"leakymod.go":     "// Package leakymod leaks.\npackage leakymod\n",
		"internal/cfg.go": "package internal\n\n// Token is not a thing to publish.\nconst Token = \"" + tok + "\"\n",
	})
	out = mustFail(t, "", []string{"TROVE_TOKEN=" + tok2, "TROVE_URL=" + tr.URL}, troveBin, "publish", "go", mod, "--version", "v1.0.0")
	wantOutput(t, "trove publish go of a module holding a token", out, "example.test/leakymod@v1.0.0/internal/cfg.go:4",
		"not live here")
	wantOutput(t, "npm whoami with the uploading token", newNPM(t, tr, tok2).must(writePackage(t, libFiles("1.0.0")), "whoami"), "alice")
}
