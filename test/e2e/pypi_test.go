//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The PyPI tests build real projects with setuptools (Debian's
// python3-build, offline: /usr/bin/python3 -m build --no-isolation),
// upload them with twine and install them with pip from Trove alone.

const (
	pyLib = "trove-e2e-lib" // a library
	pyApp = "trove-e2e-app" // an application depending on the library
)

// pyProject writes a setuptools project and returns its directory. The
// library's module holds value; the application requires the library.
func pyProject(t *testing.T, name, version, value string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	module := strings.ReplaceAll(name, "-", "_")
	deps := `[]`
	code := fmt.Sprintf("VALUE = %q\n", value)
	if name == pyApp {
		deps = `["trove-e2e-lib>=1.0"]`
		code = "from trove_e2e_lib import VALUE\n\ndef main():\n    return 'app using ' + VALUE\n"
	}
	writeFiles(t, dir, map[string]string{
		"pyproject.toml": fmt.Sprintf(`[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = %q
version = %q
description = "Trove's end-to-end test <%s>"
readme = "README.md"
requires-python = ">=3.8"
license = {text = "MIT"}
authors = [{name = "Alice", email = "alice@example.test"}]
classifiers = ["Programming Language :: Python :: 3"]
dependencies = %s

[project.urls]
Homepage = "https://example.test/%s"
`, name, version, name, deps, name),
		"README.md": "# " + name + "\n\nA project of Trove's end-to-end tests.\n",
		filepath.Join("src", module, "__init__.py"): code,
	})
	return dir
}

// pyBuild builds a project's sdist and wheel and returns their paths.
func pyBuild(t *testing.T, dir string) (sdist, wheel string) {
	t.Helper()
	must(t, dir, nil, "/usr/bin/python3", "-m", "build", "--no-isolation", "--outdir", "dist")
	for _, pattern := range []string{"*.tar.gz", "*.whl"} {
		m, _ := filepath.Glob(filepath.Join(dir, "dist", pattern))
		if len(m) != 1 {
			t.Fatalf("building %s: want one %s, found %v", dir, pattern, m)
		}
		if pattern == "*.whl" {
			wheel = m[0]
		} else {
			sdist = m[0]
		}
	}
	return sdist, wheel
}

// pyEnv is the environment for pip and twine: only Trove as an index (the
// machine's pip configuration adds --find-links), no prompts, wide output
// so that messages are not wrapped.
func pyEnv(t *testing.T) []string {
	return []string{
		"PIP_FIND_LINKS=", "PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_ROOT_USER_ACTION=ignore",
		"PIP_NO_CACHE_DIR=1", "COLUMNS=400", "NO_COLOR=1", "HOME=" + t.TempDir(),
	}
}

// twine runs twine upload of files with a token; it returns the output
// and whether twine succeeded.
func twine(t *testing.T, tr *Trove, token string, extra []string, files ...string) (string, error) {
	t.Helper()
	args := append([]string{"--no-color", "upload", "--non-interactive", "--disable-progress-bar",
		"--repository-url", tr.URL + "/pypi/legacy/", "-u", "__token__", "-p", token}, extra...)
	return runCmd(t, "", pyEnv(t), "", "twine", append(args, files...)...)
}

// pip runs pip with Trove as the only index.
func pip(t *testing.T, tr *Trove, args ...string) (string, error) {
	t.Helper()
	args = append(args[:1:1], append([]string{"--index-url", tr.URL + "/pypi/simple/"}, args[1:]...)...)
	return runCmd(t, "", pyEnv(t), "", "pip", args...)
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// publishLibAndApp builds and uploads both projects at version 1.0.0.
func publishLibAndApp(t *testing.T, tr *Trove, token string) (libSdist, libWheel, appSdist, appWheel string) {
	t.Helper()
	libSdist, libWheel = pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib 1.0.0"))
	appSdist, appWheel = pyBuild(t, pyProject(t, pyApp, "1.0.0", ""))
	out, err := twine(t, tr, token, nil, libSdist, libWheel, appSdist, appWheel)
	if err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	return
}

// TestPyPIPublishAndInstall uploads two projects with twine and installs
// them with pip from Trove: wheels with PEP 658 metadata, sdists built
// from source, and pinned hashes.
func TestPyPIPublishAndInstall(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "pypi:trove-e2e-*", "read,publish")
	libSdist, libWheel, _, _ := publishLibAndApp(t, tr, token)

	// The application, its dependency resolved from Trove.
	target := t.TempDir()
	out, err := pip(t, tr, "install", "--target", target, pyApp)
	if err != nil {
		t.Fatalf("pip install %s: %v\n%s", pyApp, err, out)
	}
	if !strings.Contains(out, "Successfully installed trove-e2e-app-1.0.0 trove-e2e-lib-1.0.0") {
		t.Errorf("pip install output:\n%s", out)
	}
	run := must(t, "", []string{"PYTHONPATH=" + target}, "python3", "-c", "import trove_e2e_app; print(trove_e2e_app.main())")
	if strings.TrimSpace(run) != "app using lib 1.0.0" {
		t.Errorf("running the installed app: %q", run)
	}
	// pip read the dependencies from the PEP 658 metadata files.
	if !tr.Logged(`path=/packages/[0-9a-f]{64}/trove_e2e_app-1.0.0-py3-none-any.whl.metadata route=pypi.metadata status=200`) ||
		!tr.Logged(`path=/packages/[0-9a-f]{64}/trove_e2e_lib-1.0.0-py3-none-any.whl.metadata route=pypi.metadata status=200`) {
		t.Errorf("pip did not fetch the core metadata files (PEP 658); server log:\n%s", tr.Log())
	}

	// Source distributions, built by pip. pip's build isolation would
	// need setuptools from the index; the machine's wheel package is
	// shown to pip's own setuptools instead.
	shim := t.TempDir()
	wheelPkg, _ := filepath.Glob("/usr/lib/python3/dist-packages/wheel*") // the module and its egg-info (entry points)
	if len(wheelPkg) < 2 {
		t.Fatalf("building sdists needs Debian's python3-wheel (found %v); install python3-build", wheelPkg)
	}
	for _, p := range wheelPkg {
		if err := os.Symlink(p, filepath.Join(shim, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	target = t.TempDir()
	args := []string{"install", "--index-url", tr.URL + "/pypi/simple/", "--target", target, "--no-binary", ":all:", "--no-build-isolation", pyApp}
	out, err = runCmd(t, "", append(pyEnv(t), "PYTHONPATH="+shim), "", "pip", args...)
	if err != nil {
		t.Fatalf("pip install --no-binary :all: %s: %v\n%s", pyApp, err, out)
	}
	if !strings.Contains(out, "trove-e2e-lib-1.0.0.tar.gz") || !strings.Contains(out, "trove-e2e-app-1.0.0.tar.gz") ||
		!strings.Contains(out, "Successfully installed trove-e2e-app-1.0.0 trove-e2e-lib-1.0.0") {
		t.Errorf("pip did not install from the sdists:\n%s", out)
	}

	// The wheel alone.
	target = t.TempDir()
	out, err = pip(t, tr, "install", "--target", target, "--only-binary", ":all:", pyLib+"==1.0.0")
	if err != nil || !strings.Contains(out, "trove_e2e_lib-1.0.0-py3-none-any.whl") {
		t.Errorf("pip install --only-binary: %v\n%s", err, out)
	}

	// Hash-checking mode with both files' hashes: pip downloads the file
	// and checks it against the pinned hash, not the index's.
	dir := t.TempDir()
	req := filepath.Join(dir, "requirements.txt")
	writeFiles(t, dir, map[string]string{"requirements.txt": fmt.Sprintf("%s==1.0.0 \\\n    --hash=sha256:%s \\\n    --hash=sha256:%s\n",
		pyLib, fileSHA256(t, libWheel), fileSHA256(t, libSdist))})
	out, err = pip(t, tr, "install", "--target", t.TempDir(), "--require-hashes", "-r", req)
	if err != nil || !strings.Contains(out, "Successfully installed trove-e2e-lib-1.0.0") {
		t.Errorf("pip install --require-hashes: %v\n%s", err, out)
	}
	writeFiles(t, dir, map[string]string{"requirements.txt": fmt.Sprintf("%s==1.0.0 --hash=sha256:%s\n", pyLib, strings.Repeat("0", 64))})
	out, err = pip(t, tr, "install", "--target", t.TempDir(), "--require-hashes", "-r", req)
	if err == nil || !strings.Contains(out, "DO NOT MATCH THE HASHES") {
		t.Errorf("pip install with a wrong pinned hash: %v\n%s", err, out)
	}

	// The JSON API knows both files.
	resp, err := http.Get(tr.URL + "/pypi/pypi/" + pyLib + "/json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{fileSHA256(t, libWheel), fileSHA256(t, libSdist), `"version":"1.0.0"`, `"summary":"Trove's end-to-end test <trove-e2e-lib>"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON API lacks %s:\n%s", want, b)
		}
	}
}

// TestPyPIYanked yanks a release with `trove yank`: pip passes it over
// unless it is pinned with ==, and then warns with the reason.
func TestPyPIYanked(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "pypi:"+pyLib, "read,publish,yank")
	for _, v := range []string{"1.0.0", "1.1.0"} {
		s, w := pyBuild(t, pyProject(t, pyLib, v, "lib "+v))
		if out, err := twine(t, tr, token, nil, s, w); err != nil {
			t.Fatalf("twine upload %s: %v\n%s", v, err, out)
		}
	}
	out := must(t, "", []string{"TROVE_TOKEN=" + token}, troveBin, "yank", "pypi", pyLib, "1.1.0", "--reason", "broken import", "--url", tr.URL)
	t.Logf("trove yank: %s", out)

	dest := t.TempDir()
	out, err := pip(t, tr, "download", "--no-deps", "--dest", dest, pyLib)
	if err != nil || !strings.Contains(out, "trove_e2e_lib-1.0.0-py3-none-any.whl") || strings.Contains(out, "1.1.0") {
		t.Errorf("pip download %s chose the yanked 1.1.0 or failed: %v\n%s", pyLib, err, out)
	}
	out, err = pip(t, tr, "download", "--no-deps", "--dest", dest, pyLib+"==1.1.0")
	if err != nil || !strings.Contains(out, "trove_e2e_lib-1.1.0-py3-none-any.whl") ||
		!strings.Contains(out, "yanked version") || !strings.Contains(out, "Reason for being yanked: broken import") {
		t.Errorf("pip download %s==1.1.0: want the yanked file with a warning: %v\n%s", pyLib, err, out)
	}
	out, err = pip(t, tr, "download", "--no-deps", "--dest", t.TempDir(), pyLib+">1.0.0")
	if err == nil || !strings.Contains(out, "No matching distribution found for trove-e2e-lib>1.0.0") {
		t.Errorf("pip download %s>1.0.0 chose the yanked release:\n%s", pyLib, out)
	}
}

// TestPyPIRepublish re-uploads files: other bytes under an existing
// filename are refused with a message twine shows without --verbose; the
// same bytes are accepted again (--skip-existing too).
func TestPyPIRepublish(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "pypi:"+pyLib, "read,publish")
	s, w := pyBuild(t, pyProject(t, pyLib, "1.0.0", "original"))
	if out, err := twine(t, tr, token, nil, s, w); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	_, changed := pyBuild(t, pyProject(t, pyLib, "1.0.0", "changed"))
	if fileSHA256(t, changed) == fileSHA256(t, w) {
		t.Fatal("the rebuilt wheel has the same bytes")
	}
	out, err := twine(t, tr, token, nil, changed)
	if err == nil || !strings.Contains(out, "409 Conflict") || !strings.Contains(out, "File already exists: trove_e2e_lib-1.0.0-py3-none-any.whl was uploaded before with different content") {
		t.Errorf("twine upload of changed bytes: %v\n%s", err, out)
	}
	// --skip-existing skips the changed file and re-sends the others.
	out, err = twine(t, tr, token, []string{"--skip-existing"}, changed, s, w)
	if err != nil || !strings.Contains(out, "Skipping trove_e2e_lib-1.0.0-py3-none-any.whl because it appears to already exist") {
		t.Errorf("twine upload --skip-existing: %v\n%s", err, out)
	}
	if out, err := twine(t, tr, token, nil, s, w); err != nil {
		t.Errorf("identical re-upload: %v\n%s", err, out)
	}
	// The original bytes are still what pip gets.
	dest := t.TempDir()
	if out, err := pip(t, tr, "download", "--no-deps", "--dest", dest, pyLib+"==1.0.0"); err != nil {
		t.Fatalf("pip download: %v\n%s", err, out)
	}
	if got := fileSHA256(t, filepath.Join(dest, filepath.Base(w))); got != fileSHA256(t, w) {
		t.Errorf("pip downloaded sha256 %s, want the original %s", got, fileSHA256(t, w))
	}
}

// TestPyPIUploadDenied uploads with credentials that may not: twine shows
// why.
func TestPyPIUploadDenied(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	other := tr.Token(t, "alice", "pypi:other", "read,publish")
	s, w := pyBuild(t, pyProject(t, pyLib, "1.0.0", "x"))
	out, err := twine(t, tr, other, nil, s, w)
	if err == nil || !strings.Contains(out, "403 Forbidden") || !strings.Contains(out, "this token's scope does not allow publish on pypi:trove-e2e-lib") {
		t.Errorf("twine upload with a token for pypi:other: %v\n%s", err, out)
	}
	out, err = twine(t, tr, "not-a-token", nil, s)
	if err == nil || !strings.Contains(out, "401 Unauthorized") || !strings.Contains(out, "uploading needs an API token") {
		t.Errorf("twine upload without a token: %v\n%s", err, out)
	}
	if out, err := pip(t, tr, "download", "--no-deps", "--dest", t.TempDir(), pyLib); err == nil {
		t.Errorf("a refused upload is installable:\n%s", out)
	}
}

// TestPyPIRecordVerified uploads a wheel built by python3 -m build whose
// code was changed afterwards, its RECORD left as it was: twine shows why
// it is refused, and the untouched wheel is accepted.
func TestPyPIRecordVerified(t *testing.T) {
	tr := startTrove(t)
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "pypi:"+pyLib, "read,publish")
	_, w := pyBuild(t, pyProject(t, pyLib, "1.0.0", "original"))
	tampered := filepath.Join(t.TempDir(), filepath.Base(w))
	must(t, "", nil, "/usr/bin/python3", "-c", `import sys, zipfile
src, dst = sys.argv[1:]
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        if info.filename.endswith("/__init__.py"):
            data = b"import os\nVALUE = os.getenv('HOME')\n"
        zout.writestr(info, data)
`, w, tampered)
	out, err := twine(t, tr, token, nil, tampered)
	t.Logf("twine upload of the tampered wheel:\n%s", out)
	if err == nil || !strings.Contains(out, "400 Bad Request") ||
		!regexp.MustCompile(`trove_e2e_lib-1\.0\.0\.dist-info/RECORD says "trove_e2e_lib/__init__\.py" has \d+ bytes, but it has \d+`).MatchString(out) {
		t.Errorf("twine upload of a wheel whose RECORD lies: %v\n%s", err, out)
	}
	if out, err := pip(t, tr, "download", "--no-deps", "--dest", t.TempDir(), pyLib); err == nil {
		t.Errorf("the refused wheel is installable:\n%s", out)
	}
	if out, err := twine(t, tr, token, nil, w); err != nil {
		t.Errorf("twine upload of the wheel as built: %v\n%s", err, out)
	}
}
