//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVerify publishes an npm package with npm and a wheel with twine, then
// proves both are in the transparency log with `trove verify`: single
// versions with local files, a package-lock.json made by npm install, and a
// requirements.txt with hashes. A second run after another publish proves
// the log only grew; a wrong key fails.
func TestVerify(t *testing.T) {
	tr := startTrove(t)
	token := alice(t, tr)
	npm := newNPM(t, tr, token)

	lib := writePackage(t, libFiles("1.0.0"))
	packDir := t.TempDir()
	npm.must(lib, "pack", "--pack-destination", packDir)
	tgz := filepath.Join(packDir, "acme-lib-1.0.0.tgz")
	npm.must(packDir, "publish", tgz)

	_, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib 1.0.0"))
	if out, err := twine(t, tr, token, nil, wheel); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}

	lines := strings.Split(strings.TrimSpace(tr.trove(t, "", "log", "key")), "\n")
	key := lines[len(lines)-1]
	state := t.TempDir()
	verify := func(args ...string) []string {
		return append([]string{"verify", "--url", tr.URL, "--key", key, "--state", state}, args...)
	}

	out := must(t, "", nil, troveBin, verify("npm:@acme/lib@1.0.0", "--file", tgz)...)
	wantOutput(t, "trove verify npm", out, "npm @acme/lib 1.0.0: 1 records proved", "file lib-1.0.0.tgz sha256:",
		"is the published file lib-1.0.0.tgz", "verified 1 artifacts against checkpoint 4 ")
	out = must(t, "", nil, troveBin, verify("pypi:"+pyLib+"==1.0.0", "--file", wheel)...)
	wantOutput(t, "trove verify pypi", out, "file trove_e2e_lib-1.0.0-py3-none-any.whl sha256:"+fileSHA256(t, wheel),
		"is the published file trove_e2e_lib-1.0.0-py3-none-any.whl")

	// A package-lock.json written by npm install.
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.must(proj, "install", "@acme/lib@1.0.0")
	out = must(t, "", nil, troveBin, verify("--lockfile", filepath.Join(proj, "package-lock.json"))...)
	wantOutput(t, "trove verify --lockfile package-lock.json", out, "ok npm @acme/lib 1.0.0 lib-1.0.0.tgz sha256:", "verified 1 artifacts")
	// npm leaves the "resolved" URLs out with omit-lockfile-registry-resolved:
	// nothing to download, and trove verify says how to write them.
	bare := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.must(bare, "install", "@acme/lib@1.0.0", "--omit-lockfile-registry-resolved")
	out = mustFail(t, "", nil, troveBin, verify("--lockfile", filepath.Join(bare, "package-lock.json"))...)
	wantOutput(t, "trove verify --lockfile without resolved URLs", out, `1 packages have no "resolved" URL`, "@acme/lib@1.0.0",
		"hint: npm leaves \"resolved\" out when omit-lockfile-registry-resolved is set", "npm install --package-lock-only")

	// A requirements.txt in pip's hash-checking mode.
	req := filepath.Join(t.TempDir(), "requirements.txt")
	if err := os.WriteFile(req, []byte(fmt.Sprintf("# pinned\n%s==1.0.0 \\\n    --hash=sha256:%s\n", pyLib, fileSHA256(t, wheel))), 0o644); err != nil {
		t.Fatal(err)
	}
	out = must(t, "", nil, troveBin, verify("--lockfile", req)...)
	wantOutput(t, "trove verify --lockfile requirements.txt", out, "ok pypi "+pyLib+" 1.0.0 trove_e2e_lib-1.0.0-py3-none-any.whl", "verified 1 artifacts")
	if err := os.WriteFile(req, []byte(pyLib+"==1.0.0 --hash=sha256:"+strings.Repeat("0", 64)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustFail(t, "", nil, troveBin, verify("--lockfile", req)...)
	wantOutput(t, "trove verify of a wrong hash", out, "is not a file the log records")
	// A requirements file as pip freeze writes it: no hashes.
	if err := os.WriteFile(req, []byte(pyLib+"==1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustFail(t, "", nil, troveBin, verify("--lockfile", req)...)
	wantOutput(t, "trove verify of requirements without hashes", out, "it is not a hash-checked requirements file", "hint: write requirements with hashes using pip-compile --generate-hashes")

	// Another publish: the second run proves the new checkpoint extends
	// the stored one, and stores it.
	before, err := os.ReadFile(filepath.Join(state, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	lib2 := writePackage(t, libFiles("1.0.1"))
	npm.must(lib2, "publish")
	out = must(t, "", nil, troveBin, verify("npm:@acme/lib@1.0.1", "npm:@acme/lib@1.0.0")...)
	wantOutput(t, "trove verify after a publish", out, "verified 2 artifacts against checkpoint 5 ")
	after, err := os.ReadFile(filepath.Join(state, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\n4\n`).Match(before) || !regexp.MustCompile(`\n5\n`).Match(after) {
		t.Errorf("stored checkpoint went from\n%s\nto\n%s\nwant trees of 4 then 5 (each package's first release also logs its owner)", before, after)
	}

	// The outside auditor's check.
	out = must(t, "", nil, troveBin, verify("--audit")...)
	wantOutput(t, "trove verify --audit", out, "audited 5 records", "publish    3", "owner      2")

	// Another log's key (made for an empty data directory) does not verify.
	other := strings.Split(strings.TrimSpace(must(t, "", nil, troveBin, "log", "key", "--data", t.TempDir())), "\n")
	out = mustFail(t, "", nil, troveBin, "verify", "--url", tr.URL, "--key", other[len(other)-1], "--state", t.TempDir(), "npm:@acme/lib@1.0.0")
	wantOutput(t, "trove verify with a wrong key", out, "verifying checkpoint signature")
	// No key at all.
	out = mustFail(t, "", []string{"TROVE_LOG_KEY="}, troveBin, "verify", "--url", tr.URL, "npm:@acme/lib@1.0.0")
	wantOutput(t, "trove verify without a key", out, "no log verifier key")
}
