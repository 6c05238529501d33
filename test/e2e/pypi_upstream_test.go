//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The PyPI upstream tests run a Trove "up" as the upstream of a Trove
// "down" (startUpstreamPair): projects are published to up with twine and
// installed from down with pip, down being pip's only index.

// debianWheels are Debian's setuptools and wheel wheels
// (python3-setuptools-whl, python3-wheel-whl; scripts/test.sh installs
// them): published to up, they let pip's isolated builds through down
// find their build requirements.
func debianWheels(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"setuptools-*.whl", "wheel-*.whl"} {
		m, _ := filepath.Glob(filepath.Join("/usr/share/python-wheels", pattern))
		if len(m) != 1 {
			t.Fatalf("want one /usr/share/python-wheels/%s, found %v: install python3-setuptools-whl and python3-wheel-whl (scripts/test.sh does)", pattern, m)
		}
		out = append(out, m[0])
	}
	return out
}

// twineUpload publishes files to tr with twine and fails the test if it fails.
func twineUpload(t *testing.T, tr *Trove, token string, files ...string) {
	t.Helper()
	if out, err := twine(t, tr, token, nil, files...); err != nil {
		t.Fatalf("twine upload to %s: %v\n%s", tr.URL, err, out)
	}
}

// TestPyPIUpstreamMixedProject installs a local application whose
// dependency is upstream, with pip alone on down: plain, with
// --require-hashes, and from source with build isolation, setuptools and
// wheel coming from the upstream too.
func TestPyPIUpstreamMixedProject(t *testing.T) {
	pair := startUpstreamPair(t, "pypi", "")
	up, down := pair.Up, pair.Down
	libSdist, libWheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib 1.0.0"))
	twineUpload(t, up, pair.UpToken, append(debianWheels(t), libSdist, libWheel)...)
	appSdist, appWheel := pyBuild(t, pyProject(t, pyApp, "1.0.0", ""))
	twineUpload(t, down, pair.DownAdmin, appSdist, appWheel)

	target := t.TempDir()
	out, err := pip(t, down, "install", "--target", target, pyApp)
	if err != nil || !strings.Contains(out, "Successfully installed trove-e2e-app-1.0.0 trove-e2e-lib-1.0.0") {
		t.Fatalf("pip install %s through down: %v\n%s", pyApp, err, out)
	}
	run := must(t, "", []string{"PYTHONPATH=" + target}, "python3", "-c", "import trove_e2e_app; print(trove_e2e_app.main())")
	if strings.TrimSpace(run) != "app using lib 1.0.0" {
		t.Errorf("running the installed app: %q", run)
	}
	if !down.Logged(`trove_e2e_lib-1\.0\.0-py3-none-any\.whl\.metadata route=pypi\.metadata status=200`) {
		t.Errorf("pip did not read the proxied project's core metadata (PEP 658) from down; log:\n%s", down.Log())
	}

	// Hash-checking mode, with the hashes of the files as built: the
	// proxied bytes are the upstream's.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"requirements.txt": fmt.Sprintf("%s==1.0.0 --hash=sha256:%s\n%s==1.0.0 --hash=sha256:%s\n",
		pyApp, fileSHA256(t, appWheel), pyLib, fileSHA256(t, libWheel))})
	out, err = pip(t, down, "install", "--target", t.TempDir(), "--require-hashes", "-r", filepath.Join(dir, "requirements.txt"))
	if err != nil || !strings.Contains(out, "Successfully installed trove-e2e-app-1.0.0 trove-e2e-lib-1.0.0") {
		t.Errorf("pip install --require-hashes through down: %v\n%s", err, out)
	}

	// From source with build isolation: pip installs setuptools>=61
	// and wheel into the build environment from down, which proxies them.
	// Debian's setuptools wheel is patched for Debian's Python, so Debian's
	// pip runs this build (python3-pip; scripts/test.sh installs it).
	out, err = runCmd(t, "", pyEnv(t), "", "/usr/bin/python3", "-m", "pip", "install", "--index-url", down.URL+"/pypi/simple/",
		"--target", t.TempDir(), "--no-binary", pyLib, pyLib+"==1.0.0")
	if err != nil || !strings.Contains(out, "trove-e2e-lib-1.0.0.tar.gz") || !strings.Contains(out, "Successfully installed trove-e2e-lib-1.0.0") {
		t.Errorf("pip install of the sdist with build isolation through down: %v\n%s", err, out)
	}
	for _, fn := range []string{"setuptools", "wheel"} {
		if !down.Logged(`path=/packages/[0-9a-f]{64}/` + fn + `-[^ ]+\.whl route=pypi.file status=200`) {
			t.Errorf("the isolated build did not get %s from down; log:\n%s", fn, down.Log())
		}
	}

	// Every proxied file is in down's transparency log: trove verify
	// proves the files pip installed.
	lines := strings.Split(strings.TrimSpace(down.trove(t, "", "log", "key")), "\n")
	for _, f := range []string{libWheel, libSdist} {
		must(t, "", nil, troveBin, "verify", "--url", down.URL, "--key", lines[len(lines)-1], "--state", t.TempDir(),
			"pypi:"+pyLib+"==1.0.0", "--file", f)
	}
}

// TestPyPIUpstreamLocalNameWins publishes a project locally on down and a
// higher version of the same name upstream: down never serves the
// upstream one. Publishing on down a new project that up has is refused.
func TestPyPIUpstreamLocalNameWins(t *testing.T) {
	pair := startUpstreamPair(t, "pypi", "")
	up, down := pair.Up, pair.Down
	s1, w1 := pyBuild(t, pyProject(t, pyLib, "1.0.0", "local"))
	twineUpload(t, down, pair.DownAdmin, s1, w1)
	s2, w2 := pyBuild(t, pyProject(t, pyLib, "2.0.0", "upstream"))
	twineUpload(t, up, pair.UpToken, s2, w2)

	target := t.TempDir()
	out, err := pip(t, down, "install", "--target", target, pyLib)
	if err != nil || !strings.Contains(out, "Successfully installed trove-e2e-lib-1.0.0") {
		t.Errorf("pip install %s through down: want the local 1.0.0: %v\n%s", pyLib, err, out)
	}
	out, err = pip(t, down, "download", "--no-deps", "--dest", t.TempDir(), pyLib+"==2.0.0")
	if err == nil || !strings.Contains(out, "No matching distribution found for trove-e2e-lib==2.0.0") {
		t.Errorf("pip download of the upstream version of a local name: %v\n%s", err, out)
	}
	resp, err := http.Get(down.URL + "/pypi/packages/" + fileSHA256(t, w2) + "/" + filepath.Base(w2))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the upstream file of a local name through down: %s, want 404", resp.Status)
	}

	// A new local project whose name the upstream has is refused.
	as, aw := pyBuild(t, pyProject(t, pyApp, "1.0.0", ""))
	twineUpload(t, up, pair.UpToken, as, aw)
	out, err = twine(t, down, pair.DownAdmin, nil, aw)
	if err == nil || !strings.Contains(out, "trove upstream allow") {
		t.Errorf("twine upload to down of a name up has: want it refused naming `trove upstream allow`: %v\n%s", err, out)
	}
}

// TestPyPIUpstreamTampered puts a byte-flipping proxy between down and up:
// pip's install fails, down stores nothing and logs a warning.
func TestPyPIUpstreamTampered(t *testing.T) {
	pair := startUpstreamPair(t, "pypi", "")
	up, down := pair.Up, pair.Down
	pair.Front.Tamper(".whl")
	s, w := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib"))
	twineUpload(t, up, pair.UpToken, s, w)
	out, err := pip(t, down, "install", "--target", t.TempDir(), "--only-binary", ":all:", pyLib)
	if err == nil || strings.Contains(out, "Successfully installed") {
		t.Errorf("pip install of a tampered upstream file succeeded:\n%s", out)
	}
	if !down.Logged("does not match its index") {
		t.Errorf("down logged no warning about the tampered file; log:\n%s", down.Log())
	}
	resp, err := http.Get(down.URL + "/pypi/packages/" + fileSHA256(t, w) + "/" + filepath.Base(w))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "sha256") {
		t.Errorf("tampered file through down: %s %q, want 502 naming the sha256", resp.Status, b)
	}
}

// TestPyPIUpstreamDown installs through down, stops up, and installs
// again: what down imported installs; a project it never fetched fails
// with a 502 or 504, not a 404.
func TestPyPIUpstreamDown(t *testing.T) {
	pair := startUpstreamPair(t, "pypi", "")
	up, down := pair.Up, pair.Down
	s, w := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib"))
	twineUpload(t, up, pair.UpToken, s, w)
	twineUpload(t, up, pair.UpToken, debianWheels(t)[1])
	if out, err := pip(t, down, "install", "--target", t.TempDir(), pyLib); err != nil {
		t.Fatalf("pip install through down: %v\n%s", err, out)
	}
	pair.Front.SetDown(true)
	time.Sleep(1100 * time.Millisecond) // past down's ttl: what it cached is stale
	out, err := pip(t, down, "install", "--target", t.TempDir(), pyLib)
	if err != nil || !strings.Contains(out, "Successfully installed trove-e2e-lib-1.0.0") {
		t.Errorf("pip install of a cached project with the upstream down: %v\n%s", err, out)
	}
	out, err = pip(t, down, "install", "--target", t.TempDir(), "wheel")
	if err == nil {
		t.Errorf("pip install of a project never fetched, with the upstream down, succeeded:\n%s", out)
	}
	resp, err := http.Get(down.URL + "/pypi/simple/wheel/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusGatewayTimeout {
		t.Errorf("page of a project never fetched, with the upstream down: %s %q, want 502 or 504", resp.Status, b)
	}
}

// TestPyPIUpstreamMirrorOffline seeds down with trove mirror from a
// requirements.txt in hash-checking mode, restarts it offline with the
// upstream gone, and installs the project with pip from down alone.
func TestPyPIUpstreamMirrorOffline(t *testing.T) {
	pair := startUpstreamPair(t, "pypi", "")
	up, down := pair.Up, pair.Down
	libSdist, libWheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib 1.0.0"))
	appSdist, appWheel := pyBuild(t, pyProject(t, pyApp, "1.0.0", ""))
	twineUpload(t, up, pair.UpToken, libSdist, libWheel, appSdist, appWheel)
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	writeFiles(t, dir, map[string]string{"requirements.txt": fmt.Sprintf("%s==1.0.0 --hash=sha256:%s\n%s==1.0.0 --hash=sha256:%s\n",
		pyApp, fileSHA256(t, appWheel), pyLib, fileSHA256(t, libWheel))})
	out := must(t, "", nil, troveBin, "mirror", "--lockfile", req, "--url", down.URL)
	t.Logf("trove mirror: %s", out)

	// Offline, with the upstream gone.
	offline := pair.offline(t)
	hits := pair.Front.hits.Load()
	out, err := pip(t, offline, "install", "--target", t.TempDir(), "--require-hashes", "-r", req)
	if err != nil || !strings.Contains(out, "Successfully installed trove-e2e-app-1.0.0 trove-e2e-lib-1.0.0") {
		t.Errorf("pip install offline from what trove mirror fetched: %v\n%s", err, out)
	}
	if n := pair.Front.hits.Load() - hits; n != 0 {
		t.Errorf("the offline server asked the upstream %d times", n)
	}
	resp, err := http.Get(offline.URL + "/pypi/packages/" + fileSHA256(t, libSdist) + "/" + filepath.Base(libSdist))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "offline") {
		t.Errorf("a file never mirrored, offline: %s %q, want 502 naming offline mode", resp.Status, b)
	}
}

// TestPyPIUpstreamCuration denies an upstream version with trove deny:
// pip resolves to the version still allowed, and a download of the
// denied one's file is refused with 403 naming the rule.
func TestPyPIUpstreamCuration(t *testing.T) {
	pair := startUpstreamPair(t, "pypi", "")
	up, down := pair.Up, pair.Down
	for _, v := range []string{"1.0.0", "2.0.0"} {
		s, w := pyBuild(t, pyProject(t, pyLib, v, "lib "+v))
		twineUpload(t, up, pair.UpToken, s, w)
	}
	_, w2 := pyBuild(t, pyProject(t, pyLib, "2.0.0", "lib 2.0.0"))
	curator := down.Token(t, "root", "*", "curate")
	must(t, "", []string{"TROVE_URL=" + down.URL, "TROVE_TOKEN=" + curator}, troveBin, "deny", "pypi", pyLib, "==2.0.0", "--why", "breaks our builds")

	target := t.TempDir()
	out, err := pip(t, down, "install", "--target", target, pyLib)
	if err != nil || !strings.Contains(out, "Successfully installed trove-e2e-lib-1.0.0") {
		t.Errorf("pip install %s with 2.0.0 denied: want 1.0.0: %v\n%s", pyLib, err, out)
	}
	out, err = pip(t, down, "download", "--no-deps", "--dest", t.TempDir(), pyLib+"==2.0.0")
	if err == nil || !strings.Contains(out, "No matching distribution found for trove-e2e-lib==2.0.0") {
		t.Errorf("pip download of the denied version: %v\n%s", err, out)
	}
	// The built wheel is byte-identical to the uploaded one only if the
	// build is reproducible; ask for the file as up lists it instead.
	resp, err := http.Get(up.URL + "/pypi/simple/" + pyLib + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`/packages/([0-9a-f]{64})/` + regexp.QuoteMeta(filepath.Base(w2))).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("up's page lacks %s:\n%s", filepath.Base(w2), b)
	}
	resp, err = http.Get(down.URL + "/pypi/packages/" + m[1] + "/" + filepath.Base(w2))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "deny") || !strings.Contains(string(b), "breaks our builds") {
		t.Errorf("the denied version's file through down: %s %q, want 403 naming the rule and why", resp.Status, b)
	}
}
