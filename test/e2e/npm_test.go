//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// An npmClient runs the real npm against a Trove, with its own user
// configuration and, unless a test asks for another, its own cache.
type npmClient struct {
	t          *testing.T
	tr         *Trove
	registry   string // http://127.0.0.1:PORT/npm/
	userconfig string
	cache      string
}

// npmEnv keeps npm from reaching the internet or asking for funding.
var npmEnv = []string{"npm_config_update_notifier=false", "npm_config_fund=false", "NO_COLOR=1"}

// newNPM returns a client logged in with token ("" for none).
func newNPM(t *testing.T, tr *Trove, token string) *npmClient {
	t.Helper()
	dir := t.TempDir()
	c := &npmClient{t: t, tr: tr, registry: tr.URL + "/npm/", userconfig: filepath.Join(dir, "npmrc"), cache: filepath.Join(dir, "cache")}
	c.setToken(token)
	return c
}

// setToken writes the user configuration with the token, as npm login does.
func (c *npmClient) setToken(token string) {
	c.t.Helper()
	cfg := "registry=" + c.registry + "\n"
	if token != "" {
		cfg += "//" + strings.TrimPrefix(c.registry, "http://") + ":_authToken=" + token + "\n"
	}
	if err := os.WriteFile(c.userconfig, []byte(cfg), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *npmClient) args(args ...string) []string {
	return append(args, "--userconfig", c.userconfig, "--cache", c.cache, "--registry", c.registry)
}

// must runs npm in dir, which has to succeed.
func (c *npmClient) must(dir string, args ...string) string {
	c.t.Helper()
	return must(c.t, dir, npmEnv, "npm", c.args(args...)...)
}

// mustFail runs npm in dir, which has to fail.
func (c *npmClient) mustFail(dir string, args ...string) string {
	c.t.Helper()
	return mustFail(c.t, dir, npmEnv, "npm", c.args(args...)...)
}

// freshCache makes the next commands start from an empty cache.
func (c *npmClient) freshCache() {
	c.cache = filepath.Join(c.t.TempDir(), "cache")
}

// wantOutput fails unless out contains every string.
func wantOutput(t testing.TB, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("%s: output lacks %q:\n%s", what, w, out)
		}
	}
}

// The packages the tests publish: @acme/lib, and app, which depends on it.
func libFiles(version string) map[string]string {
	return map[string]string{
		"package.json": `{"name":"@acme/lib","version":"` + version + `","description":"the acme library","main":"index.js","license":"MIT"}` + "\n",
		"index.js":     "module.exports = () => require('./lib/util.js').greet()\n",
		"lib/util.js":  "exports.greet = () => 'hello from @acme/lib'\n",
		"README.md":    "# @acme/lib\n\nThe acme library.\n",
	}
}

func appFiles(version string) map[string]string {
	return map[string]string{
		"package.json": `{"name":"app","version":"` + version + `","description":"an app","main":"index.js","bin":{"app":"cli.js"},` +
			`"dependencies":{"@acme/lib":"^1.0.0"},"license":"MIT"}` + "\n",
		"index.js": "module.exports = require('@acme/lib')\n",
		"cli.js":   "#!/usr/bin/env node\nconsole.log(require('./index.js')())\n",
	}
}

// writePackage writes a package's files into a new directory.
func writePackage(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return dir
}

// alice adds the user alice and returns a token for every package and action.
func alice(t *testing.T, tr *Trove) string {
	t.Helper()
	tr.AddUser(t, "alice")
	return tr.Token(t, "alice", "*", "read,publish,yank,owners")
}

// sameFiles fails unless every file of src is in dst with the same bytes.
func sameFiles(t *testing.T, src, dst string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		want, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			t.Errorf("installed %s differs from the published file", filepath.Join(dst, rel))
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("comparing %s with %s: %v (%d files)", src, dst, err, n)
	}
}

func TestNPMPublishInstallCI(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))

	// @acme/lib: packed, then the tarball published; app: from its directory.
	lib := writePackage(t, libFiles("1.0.0"))
	packDir := t.TempDir()
	npm.must(lib, "pack", "--pack-destination", packDir)
	tgz := filepath.Join(packDir, "acme-lib-1.0.0.tgz")
	packed, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	wantOutput(t, "npm publish @acme/lib", npm.must(packDir, "publish", tgz), "+ @acme/lib@1.0.0")
	app := writePackage(t, appFiles("1.0.0"))
	wantOutput(t, "npm publish app", npm.must(app, "publish"), "+ app@1.0.0")

	// The registry serves the packed bytes, unchanged.
	resp, err := http.Get(tr.URL + "/npm/@acme/lib/-/lib-1.0.0.tgz")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(served, packed) {
		t.Fatalf("the served tarball differs from the one npm packed")
	}

	// npm install in a fresh project, from an empty cache.
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.freshCache()
	npm.must(proj, "install", "app")
	sameFiles(t, lib, filepath.Join(proj, "node_modules/@acme/lib"))
	sameFiles(t, app, filepath.Join(proj, "node_modules/app"))
	if out := must(t, proj, nil, "node", filepath.Join(proj, "node_modules/.bin/app")); strings.TrimSpace(out) != "hello from @acme/lib" {
		t.Errorf("running the installed app printed %q", out)
	}
	lock, err := os.ReadFile(filepath.Join(proj, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantOutput(t, "package-lock.json", string(lock), tr.URL+"/npm/@acme/lib/-/lib-1.0.0.tgz", `"integrity": "sha512-`)

	// npm ci from the lockfile, again from an empty cache.
	if err := os.RemoveAll(filepath.Join(proj, "node_modules")); err != nil {
		t.Fatal(err)
	}
	npm.freshCache()
	npm.must(proj, "ci")
	sameFiles(t, lib, filepath.Join(proj, "node_modules/@acme/lib"))
	sameFiles(t, app, filepath.Join(proj, "node_modules/app"))

	// npm view reads the full packument.
	var view map[string]any
	if err := json.Unmarshal([]byte(npm.must(proj, "view", "@acme/lib", "--json")), &view); err != nil {
		t.Fatal(err)
	}
	if view["name"] != "@acme/lib" || view["version"] != "1.0.0" || view["license"] != "MIT" || view["_npmUser"] == nil {
		t.Errorf("npm view: %v", view)
	}
}

func TestNPMDistTags(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	npm.must(writePackage(t, libFiles("1.0.0")), "publish")
	npm.must(writePackage(t, libFiles("1.1.0")), "publish")
	dir := t.TempDir()
	wantOutput(t, "dist-tag add", npm.must(dir, "dist-tag", "add", "@acme/lib@1.0.0", "stable"), "+stable: @acme/lib@1.0.0")
	wantOutput(t, "dist-tag ls", npm.must(dir, "dist-tag", "ls", "@acme/lib"), "latest: 1.1.0", "stable: 1.0.0")
	wantOutput(t, "dist-tag rm", npm.must(dir, "dist-tag", "rm", "@acme/lib", "stable"), "-stable: @acme/lib@1.0.0")
	if out := npm.must(dir, "dist-tag", "ls", "@acme/lib"); strings.Contains(out, "stable") {
		t.Errorf("stable still listed after rm:\n%s", out)
	}
	wantOutput(t, "dist-tag rm latest", npm.mustFail(dir, "dist-tag", "rm", "@acme/lib", "latest"), "400", "latest dist-tag cannot be removed")
	// A tag installs what it points at.
	npm.must(dir, "dist-tag", "add", "@acme/lib@1.0.0", "stable")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.must(proj, "install", "@acme/lib@stable")
	wantOutput(t, "installed @acme/lib@stable", readFile(t, filepath.Join(proj, "node_modules/@acme/lib/package.json")), `"version":"1.0.0"`)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNPMDeprecate(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	npm.must(writePackage(t, libFiles("1.0.0")), "publish")
	dir := t.TempDir()
	npm.must(dir, "deprecate", "@acme/lib@1.0.0", "use 2.0.0 instead")
	wantOutput(t, "npm view after deprecate", npm.must(dir, "view", "@acme/lib"), "DEPRECATED", "use 2.0.0 instead")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.freshCache()
	wantOutput(t, "npm install of a deprecated version", npm.must(proj, "install", "@acme/lib"), "deprecated @acme/lib@1.0.0: use 2.0.0 instead")

	npm.must(dir, "deprecate", "@acme/lib@1.0.0", "")
	if out := npm.must(dir, "view", "@acme/lib"); strings.Contains(out, "DEPRECATED") {
		t.Errorf("npm view after undeprecate:\n%s", out)
	}
	proj = writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.freshCache()
	if out := npm.must(proj, "install", "@acme/lib"); strings.Contains(out, "deprecated") {
		t.Errorf("npm install after undeprecate warns:\n%s", out)
	}
}

func TestNPMRepublishAndTokenScope(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	lib := writePackage(t, libFiles("1.0.0"))
	npm.must(lib, "publish")
	// npm 11 checks the packument first; with --force it asks the registry.
	wantOutput(t, "republish", npm.mustFail(lib, "publish"), "cannot publish over the previously published version")
	wantOutput(t, "republish --force", npm.mustFail(lib, "publish", "--force"), "409", "cannot publish over the previously published version 1.0.0", "versions are immutable")

	// A token scoped to @acme/* publishes there, and nowhere else.
	scoped := newNPM(t, tr, tr.Token(t, "alice", "npm:@acme/*", "read,publish"))
	wantOutput(t, "scoped publish", scoped.must(writePackage(t, libFiles("1.1.0")), "publish"), "+ @acme/lib@1.1.0")
	out := scoped.mustFail(writePackage(t, appFiles("1.0.0")), "publish")
	wantOutput(t, "publish outside the token's scope", out, "403", "this token's scope does not allow publish on npm:app")
	if resp, err := http.Get(tr.URL + "/npm/app"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("app exists after a refused publish: %v %v", resp.StatusCode, err)
	}
	// Another user cannot publish alice's package.
	tr.AddUser(t, "mallory")
	mallory := newNPM(t, tr, tr.Token(t, "mallory", "*", "read,publish"))
	wantOutput(t, "non-owner publish", mallory.mustFail(writePackage(t, libFiles("1.2.0")), "publish"), "403", "not an owner of npm:@acme/lib")
}

func TestNPMUnpublish(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	npm.must(writePackage(t, libFiles("1.0.0")), "publish")
	v11 := writePackage(t, libFiles("1.1.0"))
	npm.must(v11, "publish")
	dir := t.TempDir()
	wantOutput(t, "unpublish one version", npm.must(dir, "unpublish", "@acme/lib@1.1.0"), "- @acme/lib@1.1.0")
	if out := npm.must(dir, "view", "@acme/lib", "versions", "--json"); strings.Contains(out, "1.1.0") || !strings.Contains(out, "1.0.0") {
		t.Errorf("versions after unpublishing 1.1.0: %s", out)
	}
	wantOutput(t, "dist-tags after unpublish", npm.must(dir, "dist-tag", "ls", "@acme/lib"), "latest: 1.0.0")
	// The version is never published again.
	wantOutput(t, "republish after unpublish", npm.mustFail(v11, "publish"), "409", "can never be published again")
	// Everything, then nothing is left.
	npm.must(dir, "unpublish", "@acme/lib", "--force")
	wantOutput(t, "npm view after unpublishing all", npm.mustFail(dir, "view", "@acme/lib"), "404")
	wantOutput(t, "republish after unpublishing all", npm.mustFail(writePackage(t, libFiles("1.0.0")), "publish"), "can never be published again")
	npm.must(writePackage(t, libFiles("2.0.0")), "publish")
}

func TestNPMSearch(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	npm.must(writePackage(t, libFiles("1.0.0")), "publish")
	npm.must(writePackage(t, appFiles("1.0.0")), "publish")
	dir := t.TempDir()
	wantOutput(t, "npm search", npm.must(dir, "search", "acme"), "@acme/lib", "the acme library", "alice")
	var results []map[string]any
	if err := json.Unmarshal([]byte(npm.must(dir, "search", "--json", "app")), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0]["name"] != "app" || results[0]["version"] != "1.0.0" {
		t.Errorf("npm search --json app = %v", results)
	}
}

// interactive runs npm with its standard input fed by answers, each
// written once the output shows its prompt (npm reads a piped standard
// input prompt by prompt, and loses lines sent before it asks).
func interactive(t *testing.T, c *npmClient, answers [][2]string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", c.args(args...)...)
	cmd.Env = append(os.Environ(), npmEnv...)
	cmd.Dir = t.TempDir()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), a[0]) {
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("npm %s never prompted %q:\n%s", strings.Join(args, " "), a[0], out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		io.WriteString(stdin, a[1]+"\n")
	}
	err = cmd.Wait()
	return out.String(), err
}

func TestNPMLoginLegacy(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	npm := newNPM(t, tr, "")
	dir := t.TempDir()
	wantOutput(t, "whoami before login", npm.mustFail(dir, "whoami"), "ENEEDAUTH")

	out, err := interactive(t, npm, [][2]string{{"Username:", "alice"}, {"Password:", "wrong password"}}, "login", "--auth-type=legacy")
	if err == nil {
		t.Fatalf("npm login with a wrong password succeeded:\n%s", out)
	}
	wantOutput(t, "login with a wrong password", out, "401", "wrong user name or password", "trove admin user add")

	out, err = interactive(t, npm, [][2]string{{"Username:", "alice"}, {"Password:", Password}}, "login", "--auth-type=legacy")
	if err != nil {
		t.Fatalf("npm login: %v\n%s", err, out)
	}
	wantOutput(t, "npm login", out, "Logged in on "+npm.registry)
	if got := strings.TrimSpace(npm.must(dir, "whoami")); got != "alice" {
		t.Errorf("npm whoami = %q", got)
	}
	// The login took the password alone, and alice has an authenticator:
	// publishing with the login token needs a one-time password.
	code := tr.OTP(t, "alice") // enrols her authenticator
	lib := writePackage(t, libFiles("1.0.0"))
	wantOutput(t, "npm publish without --otp", npm.mustFail(lib, "publish"), "EOTP")
	npm.must(lib, "publish", "--otp="+code)
}

func TestNPMLoginWeb(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	npm := newNPM(t, tr, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", npm.args("login")...)
	cmd.Env = append(os.Environ(), npmEnv...)
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// npm prints "Login at:" and the URL, then polls until the sign-in.
	loginURL := make(chan string, 1)
	var printed syncBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`^http://\S+/npm/-/v1/login/[0-9a-f]+$`)
		for sc.Scan() {
			printed.Write([]byte(sc.Text() + "\n"))
			if re.MatchString(sc.Text()) {
				loginURL <- sc.Text()
			}
		}
		close(loginURL)
	}()
	var u string
	select {
	case u = <-loginURL:
	case <-time.After(30 * time.Second):
	}
	if u == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("npm login printed no login URL:\n%s%s", printed.String(), stderr.String())
	}
	// The link leads to the web sign-in, then to a confirmation.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	page, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || !strings.Contains(string(body), `action="/-/signin"`) || !strings.Contains(string(body), "npm login") {
		t.Fatalf("login page: %d\n%s", page.StatusCode, body)
	}
	next := page.Request.URL.Query().Get("next")
	signin := page.Request.URL.Scheme + "://" + page.Request.URL.Host + "/-/signin"
	bad, err := browser.PostForm(signin, url.Values{"name": {"alice"}, "password": {"not it"}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password on the login page: %d", bad.StatusCode)
	}
	confirm, err := browser.PostForm(signin, url.Values{"name": {"alice"}, "password": {Password}, "next": {next}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(confirm.Body)
	confirm.Body.Close()
	if confirm.StatusCode != 200 || !strings.Contains(string(body), "Yes, sign in npm") {
		t.Fatalf("sign-in: %d\n%s", confirm.StatusCode, body)
	}
	ok, err := browser.PostForm(confirm.Request.URL.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ok.Body.Close()
	if ok.StatusCode != 200 || ok.Request.URL.Path != "/-/account" {
		t.Fatalf("confirming the npm login: %d at %s", ok.StatusCode, ok.Request.URL)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("npm login: %v\n%s%s", err, printed.String(), stderr.String())
	}
	wantOutput(t, "npm login", printed.String(), "Logged in on "+npm.registry)
	if got := strings.TrimSpace(npm.must(t.TempDir(), "whoami")); got != "alice" {
		t.Errorf("npm whoami after the web login = %q", got)
	}
}

func TestNPMTokensAndLogout(t *testing.T) {
	tr := startTrove(t)
	alice(t, tr)
	first := tr.Token(t, "alice", "*", "read,publish,yank,tokens")
	second := tr.Token(t, "alice", "npm:*", "read")
	dir := t.TempDir()

	// A token without the tokens action cannot list or revoke tokens.
	wantOutput(t, "npm token list with a read-only token", newNPM(t, tr, second).mustFail(dir, "token", "list"), "E403", "tokens action")
	npm := newNPM(t, tr, first)

	var list []map[string]any
	if err := json.Unmarshal([]byte(npm.must(dir, "token", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 { // alice's own three
		t.Fatalf("npm token list: %v", list)
	}
	text := npm.must(dir, "token", "list")
	if strings.Contains(text, first[6:]) || strings.Contains(text, second[6:]) {
		t.Fatalf("npm token list shows a secret:\n%s", text)
	}
	var readonlyKey string
	for _, tok := range list {
		if tok["readonly"] == true {
			readonlyKey = tok["key"].(string)
		}
	}
	if readonlyKey == "" {
		t.Fatalf("no read-only token in %v", list)
	}
	wantOutput(t, "npm token revoke", npm.must(dir, "token", "revoke", readonlyKey[:8]), "Removed 1 token")
	if whoami(t, tr, second) != http.StatusUnauthorized {
		t.Errorf("a revoked token still works")
	}
	if err := json.Unmarshal([]byte(npm.must(dir, "token", "list", "--json")), &list); err != nil || len(list) != 2 {
		t.Errorf("token list after revoke: %v %v", list, err)
	}

	// npm logout revokes the token it was using.
	npm.must(dir, "logout")
	if whoami(t, tr, first) != http.StatusUnauthorized {
		t.Errorf("the token still works after npm logout")
	}
	wantOutput(t, "whoami after logout", npm.mustFail(dir, "whoami"), "ENEEDAUTH")
}

// whoami returns the status of GET /npm/-/whoami with a token.
func whoami(t *testing.T, tr *Trove, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", tr.URL+"/npm/-/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestNPMAdduserOpenRegistration(t *testing.T) {
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_ACCOUNTS_SIGNUP=open", "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port),
		"TROVE_MAIL_TLS=none", "TROVE_MAIL_FROM=Trove <trove@localhost>")
	npm := newNPM(t, tr, "")
	// The browser flow cannot create accounts, so npm falls back to asking.
	out, err := interactive(t, npm, [][2]string{{"Username:", "newbie"}, {"Password:", "a long enough passphrase"}, {"Email (this will be public):", "newbie@example.test"}}, "adduser")
	if err != nil {
		t.Fatalf("npm adduser: %v\n%s", err, out)
	}
	wantOutput(t, "npm adduser", out, "Logged in on "+npm.registry)
	if got := strings.TrimSpace(npm.must(t.TempDir(), "whoami")); got != "newbie" {
		t.Errorf("npm whoami after adduser = %q", got)
	}
	// A new account publishes once it has a second factor and followed the
	// link mailed to it: the MFA policy refuses it before, saying what to
	// do; with an authenticator, the login token publishes with a
	// one-time password once the address is verified.
	lib := writePackage(t, libFiles("1.0.0"))
	wantOutput(t, "npm publish by a new account without a second factor", npm.mustFail(lib, "publish"), "E403", "second factor")
	wantOutput(t, "npm publish before verification", npm.mustFail(lib, "publish", "--otp="+tr.OTP(t, "newbie")), "403", "verify your email address first")
	verifyByMail(t, tr, smtp, "newbie@example.test")
	npm.must(lib, "publish", "--otp="+tr.OTP(t, "newbie"))
}
