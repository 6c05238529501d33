//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// npmPkg returns the files of a package that exports its name and
// version, with dependencies (name → range).
func npmPkg(name, version string, deps map[string]string) map[string]string {
	pj := map[string]any{"name": name, "version": version, "main": "index.js", "license": "MIT"}
	if len(deps) > 0 {
		pj["dependencies"] = deps
	}
	b, _ := json.Marshal(pj)
	return map[string]string{"package.json": string(b) + "\n", "index.js": "module.exports = '" + name + "@" + version + "'\n"}
}

// upstreamNPM starts a pair for npm, and returns npm clients of Up
// (publishing as alice) and of Down (publishing as bob, a user of Down).
func upstreamNPM(t *testing.T) (p *pair, up, down *npmClient) {
	t.Helper()
	p = startUpstreamPair(t, "npm", "")
	p.Down.AddUser(t, "bob")
	return p, newNPM(t, p.Up, p.UpToken), newNPM(t, p.Down, p.Down.Token(t, "bob", "*", "read,publish,yank"))
}

// installedVersion returns the version of the package installed in proj.
func installedVersion(t *testing.T, proj, name string) string {
	t.Helper()
	var pj struct{ Version string }
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(proj, "node_modules", name, "package.json"))), &pj); err != nil {
		t.Fatal(err)
	}
	return pj.Version
}

// viewVersions returns the versions npm view lists, joined by spaces.
func viewVersions(t *testing.T, c *npmClient, dir, name string) string {
	t.Helper()
	out := c.must(dir, "view", name, "versions", "--json")
	var vs []string
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		var one string
		if err := json.Unmarshal([]byte(out), &one); err != nil {
			t.Fatalf("npm view %s versions --json: %v\n%s", name, err, out)
		}
		vs = []string{one}
	}
	return strings.Join(vs, " ")
}

// project writes a private project depending on deps.
func project(t *testing.T, deps map[string]string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"name": "proj", "version": "1.0.0", "private": true, "dependencies": deps})
	return writePackage(t, map[string]string{"package.json": string(b)})
}

// upstreamHeader returns the X-Trove-Upstream header of a packument.
func upstreamHeader(t *testing.T, tr *Trove, name string) string {
	t.Helper()
	resp, err := http.Get(tr.URL + "/npm/" + strings.Replace(name, "/", "%2f", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", name, resp.Status)
	}
	return resp.Header.Get("X-Trove-Upstream")
}

// TestNPMUpstreamMixedProject: a project of a local package and upstream
// ones (one only a transitive dependency) installs through Down alone,
// with npm install and npm ci from clean caches.
func TestNPMUpstreamMixedProject(t *testing.T) {
	p, up, down := upstreamNPM(t)
	up.must(writePackage(t, npmPkg("util-dep", "1.0.0", nil)), "publish")
	up.must(writePackage(t, npmPkg("left-thing", "1.0.0", map[string]string{"util-dep": "^1.0.0"})), "publish")
	up.must(writePackage(t, npmPkg("left-thing", "1.1.0", map[string]string{"util-dep": "^1.0.0"})), "publish")
	down.must(writePackage(t, libFiles("1.0.0")), "publish")

	proj := project(t, map[string]string{"@acme/lib": "^1.0.0", "left-thing": "^1.0.0"})
	down.freshCache()
	down.must(proj, "install")
	for name, want := range map[string]string{"@acme/lib": "1.0.0", "left-thing": "1.1.0", "util-dep": "1.0.0"} {
		if got := installedVersion(t, proj, name); got != want {
			t.Errorf("installed %s %s, want %s", name, got, want)
		}
	}
	lock := readFile(t, filepath.Join(proj, "package-lock.json"))
	wantOutput(t, "package-lock.json", lock, p.Down.URL+"/npm/left-thing/-/left-thing-1.1.0.tgz",
		p.Down.URL+"/npm/util-dep/-/util-dep-1.0.0.tgz", p.Down.URL+"/npm/@acme/lib/-/lib-1.0.0.tgz")
	if strings.Contains(lock, p.Front.URL) || strings.Contains(lock, p.Up.URL) {
		t.Errorf("the lockfile names the upstream:\n%s", lock)
	}
	if h := upstreamHeader(t, p.Down, "left-thing"); h != "fresh" {
		t.Errorf("X-Trove-Upstream = %q, want fresh", h)
	}

	if err := os.RemoveAll(filepath.Join(proj, "node_modules")); err != nil {
		t.Fatal(err)
	}
	down.freshCache()
	down.must(proj, "ci")
	if got := installedVersion(t, proj, "util-dep"); got != "1.0.0" {
		t.Errorf("npm ci installed util-dep %s", got)
	}
}

// TestNPMUpstreamLocalNames: a local name never shows upstream versions,
// a scope with local packages is not fetched upstream, and a name the
// upstream has is published here only once an administrator allows it.
func TestNPMUpstreamLocalNames(t *testing.T) {
	p, up, down := upstreamNPM(t)
	dir := t.TempDir()
	down.must(writePackage(t, npmPkg("shadow", "1.0.0", nil)), "publish")
	up.must(writePackage(t, npmPkg("shadow", "2.0.0", nil)), "publish")
	if got := viewVersions(t, down, dir, "shadow"); got != "1.0.0" {
		t.Errorf("npm view shadow versions on Down = %s, want only the local 1.0.0", got)
	}
	down.freshCache()
	out := down.mustFail(project(t, map[string]string{"shadow": "^2.0.0"}), "install", "--fetch-retries=0")
	wantOutput(t, "installing shadow@^2 from Down", out, "No matching version")
	proj := project(t, map[string]string{"shadow": "*"})
	down.must(proj, "install")
	if got := installedVersion(t, proj, "shadow"); got != "1.0.0" {
		t.Errorf("installed shadow %s, want the local 1.0.0", got)
	}

	// @acme has a local package: @acme/evil is never fetched upstream.
	down.must(writePackage(t, libFiles("1.0.0")), "publish")
	up.must(writePackage(t, npmPkg("@acme/evil", "1.0.0", nil)), "publish")
	wantOutput(t, "installing @acme/evil from Down", down.mustFail(project(t, map[string]string{"@acme/evil": "^1.0.0"}), "install", "--fetch-retries=0"), "404")

	// Publishing a name the upstream has is refused until allowed.
	up.must(writePackage(t, npmPkg("taken", "1.0.0", nil)), "publish")
	fork := writePackage(t, npmPkg("taken", "2.0.0", nil))
	wantOutput(t, "publishing taken on Down", down.mustFail(fork, "publish"), "409", "trove upstream allow npm taken --as local")
	env := []string{"TROVE_URL=" + p.Down.URL, "TROVE_TOKEN=" + p.DownAdmin}
	must(t, "", env, troveBin, "upstream", "allow", "npm", "taken", "--as", "local", "--reason", "our fork")
	down.must(fork, "publish")
	if got := viewVersions(t, down, dir, "taken"); got != "2.0.0" {
		t.Errorf("npm view taken versions on Down = %s, want only the local fork's 2.0.0", got)
	}
}

// TestNPMUpstreamTampered: a tarball changed on its way from the upstream
// is refused with a clear error, and nothing is kept.
func TestNPMUpstreamTampered(t *testing.T) {
	p, up, down := upstreamNPM(t)
	up.must(writePackage(t, npmPkg("victim", "1.0.0", nil)), "publish")
	p.Front.Tamper("victim-1.0.0.tgz")
	proj := project(t, map[string]string{"victim": "^1.0.0"})
	out := down.mustFail(proj, "install", "--fetch-retries=0")
	wantOutput(t, "installing a tampered package", out, "502", "does not match the upstream's dist.integrity")
	if !p.Down.Logged("tarball refused") {
		t.Fatalf("Down logged no warning about the refused tarball:\n%s", p.Down.Log())
	}
	// Nothing was kept: with the upstream honest again, the real bytes install.
	p.Front.Tamper("")
	down.freshCache()
	down.must(proj, "install")
	if got := installedVersion(t, proj, "victim"); got != "1.0.0" {
		t.Errorf("installed victim %s", got)
	}
}

// TestNPMUpstreamDown: with the upstream gone, what Down has cached still
// installs (served stale), and what it never fetched fails clearly.
func TestNPMUpstreamDown(t *testing.T) {
	p, up, down := upstreamNPM(t)
	up.must(writePackage(t, npmPkg("cached-pkg", "1.0.0", nil)), "publish")
	up.must(writePackage(t, npmPkg("never-pkg", "1.0.0", nil)), "publish")
	down.freshCache()
	down.must(project(t, map[string]string{"cached-pkg": "^1.0.0"}), "install")

	p.Front.SetDown(true)
	time.Sleep(1100 * time.Millisecond) // Down's upstream TTL is 1s
	down.freshCache()
	proj := project(t, map[string]string{"cached-pkg": "^1.0.0"})
	down.must(proj, "install")
	if got := installedVersion(t, proj, "cached-pkg"); got != "1.0.0" {
		t.Errorf("installed cached-pkg %s", got)
	}
	if h := upstreamHeader(t, p.Down, "cached-pkg"); h != "stale" {
		t.Errorf("X-Trove-Upstream = %q with the upstream down, want stale", h)
	}
	out := down.mustFail(project(t, map[string]string{"never-pkg": "^1.0.0"}), "install", "--fetch-retries=0")
	wantOutput(t, "installing an uncached package with the upstream down", out, "502", "no upstream registry could be reached")
}

// TestNPMUpstreamLockfileElsewhere: a lockfile written against the
// upstream installs through Down with npm's replace-registry-host set to
// the upstream's registry URL; without it npm goes to the upstream.
func TestNPMUpstreamLockfileElsewhere(t *testing.T) {
	p, up, down := upstreamNPM(t)
	up.must(writePackage(t, npmPkg("lock-dep", "1.0.0", nil)), "publish")
	up.must(writePackage(t, npmPkg("lock-app", "1.0.0", map[string]string{"lock-dep": "^1.0.0"})), "publish")
	written := project(t, map[string]string{"lock-app": "^1.0.0"})
	up.must(written, "install")
	lock := readFile(t, filepath.Join(written, "package-lock.json"))
	upReg := p.Front.URL + "/npm/" // Up's registry, as its documents name it
	wantOutput(t, "the lockfile written against Up", lock, upReg+"lock-dep/-/lock-dep-1.0.0.tgz")

	proj := writePackage(t, map[string]string{"package.json": readFile(t, filepath.Join(written, "package.json")), "package-lock.json": lock})
	down.freshCache()
	out := down.must(proj, "ci", "--loglevel=http", "--replace-registry-host="+upReg)
	wantOutput(t, "npm ci through Down", out, p.Down.URL+"/npm/lock-app/-/lock-app-1.0.0.tgz", p.Down.URL+"/npm/lock-dep/-/lock-dep-1.0.0.tgz")
	if strings.Contains(out, p.Front.URL) {
		t.Errorf("npm ci with replace-registry-host still fetched from the upstream:\n%s", out)
	}
	if got := installedVersion(t, proj, "lock-dep"); got != "1.0.0" {
		t.Errorf("installed lock-dep %s", got)
	}

	// Without it, npm fetches the lockfile's URLs from the upstream itself.
	if err := os.RemoveAll(filepath.Join(proj, "node_modules")); err != nil {
		t.Fatal(err)
	}
	down.freshCache()
	out = down.must(proj, "ci", "--loglevel=http")
	wantOutput(t, "npm ci with the default replace-registry-host", out, upReg+"lock-app/-/lock-app-1.0.0.tgz")
}

// TestNPMUpstreamMirrorOffline: trove mirror fetches through Down every
// package a lockfile written against the upstream pins; then, with the
// upstream gone and Down offline, npm ci installs the project from Down.
func TestNPMUpstreamMirrorOffline(t *testing.T) {
	p, up, _ := upstreamNPM(t)
	up.must(writePackage(t, npmPkg("@vendor/mirror-dep", "1.0.0", nil)), "publish", "--access", "public")
	up.must(writePackage(t, npmPkg("mirror-app", "1.0.0", map[string]string{"@vendor/mirror-dep": "^1.0.0"})), "publish")
	up.must(writePackage(t, npmPkg("not-mirrored", "1.0.0", nil)), "publish")
	written := project(t, map[string]string{"mirror-app": "^1.0.0"})
	up.must(written, "install")
	lock := filepath.Join(written, "package-lock.json")
	out := must(t, "", nil, troveBin, "mirror", "--lockfile", lock, "--url", p.Down.URL)
	wantOutput(t, "trove mirror", out, "mirrored 2 of 2 packages (2 files")

	offline := p.offline(t)
	hits := p.Front.hits.Load()
	off := newNPM(t, offline, "")
	off.freshCache()
	proj := writePackage(t, map[string]string{"package.json": readFile(t, filepath.Join(written, "package.json")), "package-lock.json": readFile(t, lock)})
	off.must(proj, "ci", "--replace-registry-host="+p.Front.URL+"/npm/")
	if got := installedVersion(t, proj, "@vendor/mirror-dep"); got != "1.0.0" {
		t.Errorf("installed @vendor/mirror-dep %s offline", got)
	}
	if n := p.Front.hits.Load() - hits; n != 0 {
		t.Errorf("the offline server asked the upstream %d times", n)
	}
	out = off.mustFail(project(t, map[string]string{"not-mirrored": "^1.0.0"}), "install", "--fetch-retries=0")
	wantOutput(t, "installing what was never mirrored, offline", out, "502", "offline")
}
