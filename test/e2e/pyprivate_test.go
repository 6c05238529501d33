//go:build e2e

package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The private package tests publish a PyPI project and a Go module with
// the real clients, make them private, and install them with pip and the
// go command: anonymously, and with credentials that do not carry
// read-private, the clients fail exactly as for a name never published;
// with a reader's token carrying read-private they install. The server
// runs over https with its self-signed CA (docs/tls.md), since the go
// command sends .netrc credentials only over https.

const (
	privPy     = "secretpkg" // the private project
	unknownPy  = "nosuchpkg" // never published; as long, so outputs compare
	privMod    = "example.test/secretmod"
	unknownMod = "example.test/nosuchmod"
)

// sameFailure fails the test unless out, the output of a client that
// failed for the private name, is the output it gives for a name never
// published, once that name is read as the private one.
func sameFailure(t *testing.T, what, out, unknownOut, unknown, name string) {
	t.Helper()
	want := strings.ReplaceAll(unknownOut, unknown, name)
	if clean(out) != clean(want) {
		t.Errorf("%s:\n%s\nwant the failure of a name never published:\n%s", what, out, want)
	}
}

// clean drops what differs between two runs of a client: temporary
// directories.
var tmpDir = regexp.MustCompile(`/tmp/[^\s'"]*`)

func clean(s string) string { return tmpDir.ReplaceAllString(s, "<tmp>") }

// TestPrivatePyPIAndGo publishes secretpkg with twine and secretmod with
// trove publish go, makes them private, and installs them with pip and
// the go command.
func TestPrivatePyPIAndGo(t *testing.T) {
	tr, ca, _ := startTroveTLS(t)
	token := alice(t, tr)
	tr.AddUser(t, "bob") // a reader of both packages
	tr.AddUser(t, "carol")

	t.Setenv("REQUESTS_CA_BUNDLE", "") // twine's requests: --cert wins (docs/tls.md)
	t.Setenv("CURL_CA_BUNDLE", "")
	_, wheel := pyBuild(t, pyProject(t, privPy, "1.0.0", "a secret"))
	if out, err := twine(t, tr, token, []string{"--cert", ca}, wheel); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	mod := filepath.Join(t.TempDir(), "secretmod")
	writeFiles(t, mod, map[string]string{
		"go.mod":    "module " + privMod + "\n\ngo 1.22\n",
		"secret.go": "// Package secretmod keeps a secret.\npackage secretmod\n\n// Secret is the secret.\nconst Secret = \"hush\"\n",
	})
	trust := []string{"SSL_CERT_FILE=" + ca}
	pubEnv := append([]string{"TROVE_TOKEN=" + tr.Token(t, "alice", "go:"+privMod, "publish"), "TROVE_URL=" + tr.URL}, trust...)
	must(t, "", pubEnv, troveBin, "publish", "go", mod, "--version", "v1.0.0")

	// alice makes both private and bob their reader, with the CLI.
	ownerEnv := append([]string{"TROVE_TOKEN=" + token, "TROVE_URL=" + tr.URL}, trust...)
	for _, p := range [][2]string{{"pypi", privPy}, {"go", privMod}} {
		wantOutput(t, "trove package private "+p[1], must(t, "", ownerEnv, troveBin, "package", "private", p[0], p[1], "on"), "private")
		must(t, "", ownerEnv, troveBin, "owner", "grant", p[0], p[1], "bob", "reader")
	}
	tokens := map[string]string{
		"bob, a reader, with read-private":    tr.Token(t, "bob", "*", "read,read-private"),
		"bob, a reader, without read-private": tr.Token(t, "bob", "*", "read"),
		"carol, no role, with read-private":   tr.Token(t, "carol", "*", "read,read-private"),
	}
	t.Run("pip", func(t *testing.T) { privatePip(t, tr, ca, tokens) })
	t.Run("go", func(t *testing.T) { privateGo(t, tr, ca, tokens) })
}

// privatePip installs secretpkg with pip. pip sends the credentials of
// its index URL, or of a .netrc entry for the index's host, with its
// first request; a keyring's only after a 401. Trove answers 404, not
// 401, to those who may not read a private project (its name is
// secret), so credentials pip has not sent up front are never sent.
func privatePip(t *testing.T, tr *Trove, ca string, tokens map[string]string) {
	env := append(pyEnv(t), "PIP_CERT="+ca)
	install := func(token, name string) (string, error) {
		index := tr.URL + "/pypi/simple/"
		if token != "" {
			u, _ := url.Parse(index)
			u.User = url.UserPassword("__token__", token)
			index = u.String()
		}
		return runCmd(t, "", env, "", "pip", "install", "--retries", "0", "--index-url", index, "--target", t.TempDir(), name)
	}
	// The reader first: what Trove caches for it must not reach the others.
	out, err := install(tokens["bob, a reader, with read-private"], privPy)
	if err != nil || !strings.Contains(out, "Successfully installed "+privPy+"-1.0.0") {
		t.Fatalf("pip install %s for a reader with read-private in the index URL: %v\n%s", privPy, err, out)
	}
	// pip also sends the credentials of a .netrc for the index's host
	// with its first request (a keyring it asks only after a 401).
	netrc := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(netrc, []byte("machine 127.0.0.1 login __token__ password "+tokens["bob, a reader, with read-private"]+"\n"), 0o600)
	out, err = runCmd(t, "", append(env, "NETRC="+netrc), "", "pip", "install", "--retries", "0", "--index-url", tr.URL+"/pypi/simple/",
		"--target", t.TempDir(), privPy)
	if err != nil || !strings.Contains(out, "Successfully installed "+privPy+"-1.0.0") {
		t.Fatalf("pip install %s for a reader with read-private in .netrc: %v\n%s", privPy, err, out)
	}
	for who, tok := range map[string]string{"anonymous": "", "bob without read-private": tokens["bob, a reader, without read-private"],
		"carol": tokens["carol, no role, with read-private"]} {
		unknownOut, err := install(tok, unknownPy)
		if err == nil || !strings.Contains(unknownOut, "No matching distribution found for "+unknownPy) {
			t.Fatalf("pip install of a name never published for %s: %v\n%s", who, err, unknownOut)
		}
		out, err = install(tok, privPy)
		if err == nil {
			t.Errorf("pip install %s for %s succeeded:\n%s", privPy, who, out)
			continue
		}
		sameFailure(t, "pip install "+privPy+" for "+who, out, unknownOut, unknownPy, privPy)
	}
}

// privateGo downloads secretmod with the go command, credentials from a
// .netrc (sent with every request to the proxy's host over https), its
// go.sum lines checked against Trove's checksum database.
func privateGo(t *testing.T, tr *Trove, ca string, tokens map[string]string) {
	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + tr.URL, "SSL_CERT_FILE=" + ca}, troveBin, "log", "gosumdb", "--data", tr.Data))
	host := strings.TrimPrefix(tr.URL, "https://")
	app := filepath.Join(t.TempDir(), "app")
	writeFiles(t, app, map[string]string{"go.mod": "module example.test/app\n\ngo 1.22\n"})
	download := func(user, token, mod string) (string, error) {
		netrc := filepath.Join(t.TempDir(), "netrc")
		content := ""
		if token != "" {
			content = "machine " + host + " login " + user + " password " + token + "\n"
		}
		os.WriteFile(netrc, []byte(content), 0o600)
		env := append(goEnv(t, tr, gosumdb, t.TempDir()), "SSL_CERT_FILE="+ca, "NETRC="+netrc)
		return runCmd(t, app, env, "", "go", "mod", "download", "-json", mod+"@v1.0.0")
	}
	// The reader first: what Trove caches for it must not reach the others.
	out, err := download("bob", tokens["bob, a reader, with read-private"], privMod)
	if err != nil || !strings.Contains(out, `"Version": "v1.0.0"`) || !strings.Contains(out, `"Sum": "h1:`) {
		t.Fatalf("go mod download %s for a reader with read-private in .netrc: %v\n%s", privMod, err, out)
	}
	for who, c := range map[string]struct{ user, token string }{"anonymous": {}, "bob without read-private": {"bob", tokens["bob, a reader, without read-private"]},
		"carol": {"carol", tokens["carol, no role, with read-private"]}} {
		unknownOut, err := download(c.user, c.token, unknownMod)
		if err == nil || !strings.Contains(unknownOut, "404 Not Found") || !strings.Contains(unknownOut, unknownMod+"@v1.0.0: not found") {
			t.Fatalf("go mod download of a module never published for %s: %v\n%s", who, err, unknownOut)
		}
		out, err = download(c.user, c.token, privMod)
		if err == nil {
			t.Errorf("go mod download %s for %s succeeded:\n%s", privMod, who, out)
			continue
		}
		sameFailure(t, "go mod download "+privMod+" for "+who, out, unknownOut, unknownMod, privMod)
	}
}
