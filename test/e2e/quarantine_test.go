//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/mail/mailtest"
)

// queue runs `trove admin queue ARGS` against a running server with an
// administrator's token, as an operator does, and returns its output.
func queue(t *testing.T, tr *Trove, adminToken string, args ...string) string {
	t.Helper()
	env := []string{"TROVE_URL=" + tr.URL, "TROVE_TOKEN=" + adminToken}
	return must(t, "", env, troveBin, append([]string{"admin", "queue"}, args...)...)
}

// TestQuarantineWithClients: an administrator quarantines a release of an
// npm package and one of a PyPI project with `trove admin queue
// quarantine`; the real clients no longer see them (npm falls back to the
// highest version left for latest), npm cannot publish over the version,
// trove verify fails naming the quarantine, the web page says so and the
// owner is mailed. Released with `trove admin queue release`, both install
// again and npm's latest is the released version once more.
func TestQuarantineWithClients(t *testing.T) {
	smtp := mailtest.Start(t)
	tr := startTrove(t, "TROVE_MAIL_HOST=127.0.0.1", "TROVE_MAIL_PORT="+strconv.Itoa(smtp.Port), "TROVE_MAIL_TLS=none",
		"TROVE_MAIL_FROM=Trove <trove@localhost>")
	tr.trove(t, Password+"\n", "admin", "user", "add", "root", "--email", "root@example.test", "--password-stdin", "--verified", "--admin")
	admin := tr.Token(t, "root", "*", "read,yank")
	token := alice(t, tr)
	npm := newNPM(t, tr, token)

	// alice publishes qlib 1.0.0 and 1.1.0 with npm, trove-e2e-lib 1.0 and
	// 1.1 with twine.
	v11 := writePackage(t, plainPackage("qlib", "1.1.0"))
	npm.must(writePackage(t, plainPackage("qlib", "1.0.0")), "publish")
	npm.must(v11, "publish")
	for _, v := range []string{"1.0", "1.1"} {
		s, w := pyBuild(t, pyProject(t, pyLib, v, "lib "+v))
		if out, err := twine(t, tr, token, nil, s, w); err != nil {
			t.Fatalf("twine upload %s: %v\n%s", v, err, out)
		}
	}

	const reason = "reported: postinstall reads ~/.npmrc"
	wantOutput(t, "trove admin queue quarantine npm", queue(t, tr, admin, "quarantine", "npm", "qlib", "1.1.0", "--reason", reason),
		"quarantined npm qlib 1.1.0")
	wantOutput(t, "trove admin queue quarantine pypi", queue(t, tr, admin, "quarantine", "pypi", pyLib, "1.1", "--reason", reason),
		"quarantined pypi "+pyLib+" 1.1")
	wantOutput(t, "trove admin queue", queue(t, tr, admin), "quarantined", "qlib", "1.1.0", pyLib, "1.1", "was published", reason)

	// npm: latest falls back to 1.0.0; 1.1.0 is in no listing and does not install.
	dir := t.TempDir()
	npm.freshCache()
	proj := project(t, map[string]string{})
	npm.must(proj, "install", "qlib")
	if got := installedVersion(t, proj, "qlib"); got != "1.0.0" {
		t.Errorf("npm install qlib with 1.1.0 quarantined installed %s, want 1.0.0", got)
	}
	out := npm.mustFail(project(t, map[string]string{}), "install", "qlib@1.1.0", "--fetch-retries=0")
	wantOutput(t, "npm install qlib@1.1.0 while quarantined", out, "ETARGET", "No matching version found for qlib@1.1.0")
	if got := viewVersions(t, npm, dir, "qlib"); got != "1.0.0" {
		t.Errorf("npm view qlib versions while 1.1.0 is quarantined = %s, want 1.0.0", got)
	}
	if got := strings.TrimSpace(npm.must(dir, "view", "qlib", "dist-tags.latest")); got != "1.0.0" {
		t.Errorf("npm view qlib dist-tags.latest while 1.1.0 is quarantined = %q, want 1.0.0", got)
	}
	// Its version stays taken: npm publish over it is refused, saying why.
	out = npm.mustFail(v11, "publish")
	wantOutput(t, "npm publish of the quarantined version", out, "409", "qlib 1.1.0 is quarantined by this registry's administrators")

	// pip: 1.0 installs, 1.1 is not found.
	target := t.TempDir()
	out, err := pip(t, tr, "install", "--target", target, pyLib)
	if err != nil || !strings.Contains(out, "Successfully installed "+pyLib+"-1.0") || strings.Contains(out, "1.1") {
		t.Errorf("pip install %s with 1.1 quarantined: %v\n%s", pyLib, err, out)
	}
	out, err = pip(t, tr, "download", "--no-deps", "--dest", t.TempDir(), pyLib+"==1.1")
	if err == nil || !strings.Contains(out, "No matching distribution found for "+pyLib+"==1.1") {
		t.Errorf("pip download %s==1.1 while quarantined: %v\n%s", pyLib, err, out)
	}

	// trove verify refuses the quarantined version.
	lines := strings.Split(strings.TrimSpace(tr.trove(t, "", "log", "key")), "\n")
	verify := []string{"verify", "--url", tr.URL, "--key", lines[len(lines)-1], "--state", t.TempDir()}
	out = mustFail(t, "", nil, troveBin, append(verify, "npm:qlib@1.1.0")...)
	wantOutput(t, "trove verify npm:qlib@1.1.0 while quarantined", out, "quarantined by the registry's administrators", reason, "--allow-deleted")

	// The web pages of the versions say so.
	for _, page := range []string{"/-/package/npm/qlib@1.1.0", "/-/package/pypi/" + pyLib + "@1.1"} {
		status, body := getPage(t, tr.URL+page)
		if status != http.StatusOK || !strings.Contains(body, `id="quarantined"`) || !strings.Contains(body, "is quarantined by this registry's administrators") {
			t.Errorf("GET %s while quarantined: %d, no quarantine notice\n%s", page, status, body)
		}
	}

	// The owner is told.
	wantMail(t, smtp, "alice@example.test", "Trove: npm qlib 1.1.0 quarantined", "quarantined npm qlib 1.1.0", reason, "revoke your tokens")
	wantMail(t, smtp, "alice@example.test", "Trove: pypi "+pyLib+" 1.1 quarantined", "quarantined pypi "+pyLib+" 1.1", reason)

	// Released: both are back, and npm's latest is 1.1.0 again.
	queue(t, tr, admin, "release", "npm", "qlib", "1.1.0", "--reason", "a false alarm")
	queue(t, tr, admin, "release", "pypi", pyLib, "1.1", "--reason", "a false alarm")
	wantMail(t, smtp, "alice@example.test", "Trove: npm qlib 1.1.0 released", "from quarantine: it is back as it was", "a false alarm")
	npm.freshCache()
	proj = project(t, map[string]string{})
	npm.must(proj, "install", "qlib@1.1.0")
	if got := installedVersion(t, proj, "qlib"); got != "1.1.0" {
		t.Errorf("npm install qlib@1.1.0 after the release installed %s", got)
	}
	sameFiles(t, v11, filepath.Join(proj, "node_modules", "qlib"))
	proj = project(t, map[string]string{})
	npm.must(proj, "install", "qlib")
	if got := installedVersion(t, proj, "qlib"); got != "1.1.0" {
		t.Errorf("npm install qlib after the release installed %s, want the restored latest 1.1.0", got)
	}
	if got := viewVersions(t, npm, dir, "qlib"); got != "1.0.0 1.1.0" {
		t.Errorf("npm view qlib versions after the release = %s", got)
	}
	out, err = pip(t, tr, "install", "--target", t.TempDir(), pyLib)
	if err != nil || !strings.Contains(out, "Successfully installed "+pyLib+"-1.1") {
		t.Errorf("pip install %s after the release: %v\n%s", pyLib, err, out)
	}
	must(t, "", nil, troveBin, append(verify, "npm:qlib@1.1.0")...)
	wantOutput(t, "trove admin queue after the releases", queue(t, tr, admin), "the queue is empty")
}

// TestQuarantinedUpstreamVersion: a version Down imported from its
// upstream and then quarantined is neither served nor fetched again from
// the upstream: Down's packument leaves it out, its tarball is refused
// with 403 saying why (npm ci of a lockfile naming it shows it), and Up is
// not asked for it. Released, it installs again.
func TestQuarantinedUpstreamVersion(t *testing.T) {
	p, up, down := upstreamNPM(t)
	up.must(writePackage(t, npmPkg("proxied", "1.0.0", nil)), "publish")
	up.must(writePackage(t, npmPkg("proxied", "1.1.0", nil)), "publish")
	const tarball = "/proxied/-/proxied-1.1.0.tgz" // under /npm/, as the server logs it

	// Installed through Down: imported.
	locked := project(t, map[string]string{"proxied": "1.1.0"})
	down.freshCache()
	down.must(locked, "install")
	if got := installedVersion(t, locked, "proxied"); got != "1.1.0" {
		t.Fatalf("installed proxied %s through Down", got)
	}
	if !p.Up.Logged(`path=` + tarball + ` `) {
		t.Fatalf("Up never served %s:\n%s", tarball, p.Up.Log())
	}

	queue(t, p.Down, p.DownAdmin, "quarantine", "npm", "proxied", "1.1.0", "--reason", "reported upstream as malicious")

	// npm ci of the lockfile fetches the tarball from Down: 403, saying why.
	down.freshCache()
	if err := os.RemoveAll(filepath.Join(locked, "node_modules")); err != nil {
		t.Fatal(err)
	}
	out := down.mustFail(locked, "ci", "--fetch-retries=0")
	wantOutput(t, "npm ci of a lockfile naming the quarantined version", out, "403",
		"npm proxied 1.1.0 is not served by this registry (quarantined)")
	resp, err := http.Get(p.Down.URL + "/npm" + tarball)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "not served by this registry (quarantined)") {
		t.Errorf("GET %s on Down while quarantined = %s %s", tarball, resp.Status, body)
	}
	// Resolving: the version is in no listing and does not install.
	out = down.mustFail(project(t, map[string]string{"proxied": "1.1.0"}), "install", "--fetch-retries=0")
	wantOutput(t, "npm install proxied@1.1.0 through Down while quarantined", out, "No matching version found for proxied@1.1.0")
	if got := viewVersions(t, down, t.TempDir(), "proxied"); got != "1.0.0" {
		t.Errorf("npm view proxied versions on Down while 1.1.0 is quarantined = %s, want 1.0.0", got)
	}
	// Up served the tarball once, for the first install, and was never
	// asked again: a request made after all the above is logged, so the
	// log holds every earlier one.
	if resp, err := http.Get(p.Up.URL + "/npm/-/quarantine-marker"); err == nil {
		resp.Body.Close()
	}
	if !p.Up.Logged(`path=/-/quarantine-marker `) {
		t.Fatalf("Up did not log the marker request:\n%s", p.Up.Log())
	}
	if n := strings.Count(p.Up.Log(), `path=`+tarball+` `); n != 1 {
		t.Errorf("Up was asked for %s %d times, want once (before the quarantine):\n%s", tarball, n, p.Up.Log())
	}

	// Released: installs again.
	queue(t, p.Down, p.DownAdmin, "release", "npm", "proxied", "1.1.0", "--reason", "a false alarm")
	down.freshCache()
	proj := project(t, map[string]string{"proxied": "1.1.0"})
	down.must(proj, "install")
	if got := installedVersion(t, proj, "proxied"); got != "1.1.0" {
		t.Errorf("installed proxied %s after the release", got)
	}
	if got := viewVersions(t, down, t.TempDir(), "proxied"); got != "1.0.0 1.1.0" {
		t.Errorf("npm view proxied versions on Down after the release = %s", got)
	}
}
