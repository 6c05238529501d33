package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/logclient"
	"github.com/trove-dev/trove/internal/logclient/logtest"
	"github.com/trove-dev/trove/internal/translog"
)

// A registry is a fake registry: a transparency log at /log/ and npm
// tarballs at /npm/.
type fakeRegistry struct {
	t        *testing.T
	log      *logtest.Log
	skey     string
	tarballs map[string][]byte // path → bytes
	srv      *httptest.Server
	state    string
	log2     http.Handler // when set, served at /log/ instead of log (a fork)
	// auth is the Authorization header a tarball's path needs (none if absent).
	auth map[string]string
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	skey, vkey := logtest.GenerateKey(t)
	r := &fakeRegistry{t: t, log: logtest.New(t, skey, vkey), skey: skey, tarballs: map[string][]byte{}, state: t.TempDir()}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if rest, ok := strings.CutPrefix(req.URL.Path, "/log"); ok {
			req.URL.Path, req.URL.RawPath = rest, strings.TrimPrefix(req.URL.RawPath, "/log")
			var h http.Handler = r.log
			if r.log2 != nil {
				h = r.log2
			}
			h.ServeHTTP(w, req)
			return
		}
		b, ok := r.tarballs[req.URL.Path]
		if want, need := r.auth[req.URL.Path]; need && req.Header.Get("Authorization") != want {
			ok = false
		}
		if !ok {
			http.NotFound(w, req)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func sum256(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// publishNPM publishes a tarball of name@version at its npm URL.
func (r *fakeRegistry) publishNPM(name, version string) (url, integrity string) {
	base := name[strings.LastIndex(name, "/")+1:]
	file := base + "-" + version + ".tgz"
	data := []byte("tarball of " + name + "@" + version)
	path := "/npm/" + name + "/-/" + file
	r.tarballs[path] = data
	r.log.Append(logtest.Publish("npm", name, version, file, sum256(data)))
	s := sha512.Sum512(data)
	return r.srv.URL + path, "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

// verify runs trove verify with the log's key and the registry's state.
func (r *fakeRegistry) verify(args ...string) (stdout, stderr string, err error) {
	f := &verifyFlags{url: r.srv.URL, key: r.log.VKey, state: r.state}
	var specs []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--file":
			i++
			f.file = args[i]
		case "--lockfile":
			i++
			f.lockfile = args[i]
		case "--allow-deleted":
			f.allowDeleted = true
		case "--audit":
			f.audit = true
		default:
			specs = append(specs, args[i])
		}
	}
	var out, errw bytes.Buffer
	err = runVerify(context.Background(), f, specs, &out, &errw)
	return out.String(), errw.String(), err
}

func write(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantIn(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

func TestVerifySpecs(t *testing.T) {
	r := newFakeRegistry(t)
	r.publishNPM("@acme/lib", "1.0.0")
	r.log.Append(logtest.Publish("pypi", "demo-pkg", "1.0", "demo_pkg-1.0-py3-none-any.whl", sum256([]byte("wheel"))))
	gomod := &translog.Event{Kind: "publish", Ecosystem: "go", Name: "example.com/m", Version: "v1.0.0", Time: time.Now(),
		Lines: []string{"example.com/m v1.0.0 h1:abc=", "example.com/m v1.0.0/go.mod h1:def="}}
	r.log.Append(gomod)

	out, stderr, err := r.verify("npm:@acme/lib@1.0.0", "pypi:Demo_Pkg==1.0", "go:example.com/m@v1.0.0")
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	wantIn(t, "stdout", out, "npm @acme/lib 1.0.0: 1 records proved in checkpoint 3", "file lib-1.0.0.tgz sha256:"+sum256([]byte("tarball of @acme/lib@1.0.0")),
		"file demo_pkg-1.0-py3-none-any.whl", "example.com/m v1.0.0/go.mod h1:def=", "verified 3 artifacts against checkpoint 3 ")

	// --file: a published file, and another one.
	wheel := write(t, "demo_pkg-1.0-py3-none-any.whl", "wheel")
	if out, stderr, err := r.verify("pypi:demo-pkg==1.0", "--file", wheel); err != nil || !strings.Contains(out, "is the published file demo_pkg-1.0-py3-none-any.whl") {
		t.Errorf("verify --file = %v\n%s%s", err, out, stderr)
	}
	other := write(t, "x.whl", "not the wheel")
	if _, stderr, err := r.verify("pypi:demo-pkg==1.0", "--file", other); err == nil || !strings.Contains(stderr, "is not a published file") {
		t.Errorf("verify --file with another file = %v\n%s", err, stderr)
	}
	// Unknown versions fail; malformed specs are refused.
	if _, stderr, err := r.verify("npm:@acme/lib@9.9.9"); err == nil || !strings.Contains(stderr, "no record of it") {
		t.Errorf("verify of an unknown version = %v\n%s", err, stderr)
	}
	for _, bad := range []string{"left-pad@1.0.0", "npm:left-pad", "pypi:demo==", "cargo:x@1"} {
		if _, _, err := r.verify(bad); err == nil {
			t.Errorf("verify %q succeeded, want an error", bad)
		}
	}
}

func TestVerifyYankAndDelete(t *testing.T) {
	r := newFakeRegistry(t)
	r.publishNPM("a", "1.0.0")
	r.publishNPM("b", "1.0.0")
	r.log.Append(logtest.Change("yank", "npm", "a", "1.0.0", "broken"), logtest.Change("delete", "npm", "b", "1.0.0", "malware"))
	if _, stderr, err := r.verify("npm:a@1.0.0"); err != nil || !strings.Contains(stderr, `warning: npm a 1.0.0: yanked (reason "broken")`) {
		t.Errorf("verify of a yanked version = %v\n%s", err, stderr)
	}
	if _, stderr, err := r.verify("npm:b@1.0.0"); err == nil || !strings.Contains(stderr, `delete after publishing (reason "malware")`) {
		t.Errorf("verify of a deleted version = %v\n%s", err, stderr)
	}
	if _, stderr, err := r.verify("npm:b@1.0.0", "--allow-deleted"); err != nil || !strings.Contains(stderr, "warning: npm b 1.0.0: delete") {
		t.Errorf("verify --allow-deleted = %v\n%s", err, stderr)
	}
}

// TestVerifyQuarantine: a version the administrators quarantined fails
// (a warning with --allow-deleted); released, it verifies again.
func TestVerifyQuarantine(t *testing.T) {
	r := newFakeRegistry(t)
	r.publishNPM("q", "1.0.0")
	r.log.Append(logtest.Change("quarantine", "npm", "q", "1.0.0", "reported"))
	if _, stderr, err := r.verify("npm:q@1.0.0"); err == nil || !strings.Contains(stderr, `quarantined by the registry's administrators after publishing (reason "reported")`) {
		t.Errorf("verify of a quarantined version = %v\n%s", err, stderr)
	}
	if _, stderr, err := r.verify("npm:q@1.0.0", "--allow-deleted"); err != nil || !strings.Contains(stderr, "warning: npm q 1.0.0: quarantined") {
		t.Errorf("verify --allow-deleted of a quarantined version = %v\n%s", err, stderr)
	}
	r.log.Append(logtest.Change("unquarantine", "npm", "q", "1.0.0", ""))
	if _, stderr, err := r.verify("npm:q@1.0.0"); err != nil || strings.Contains(stderr, "quarantined") {
		t.Errorf("verify of a released version = %v\n%s", err, stderr)
	}
}

func TestVerifyPackageLock(t *testing.T) {
	r := newFakeRegistry(t)
	libURL, libSRI := r.publishNPM("@acme/lib", "1.0.0")
	appURL, appSRI := r.publishNPM("app", "1.0.0")
	lock := fmt.Sprintf(`{"lockfileVersion": 3, "packages": {
		"": {"name": "proj"},
		"node_modules/@acme/lib": {"version": "1.0.0", "resolved": %q, "integrity": %q},
		"node_modules/app": {"version": "1.0.0", "resolved": %q, "integrity": %q},
		"node_modules/elsewhere": {"version": "1.0.0", "resolved": "https://registry.example/elsewhere/-/elsewhere-1.0.0.tgz", "integrity": "sha512-AAAA"},
		"node_modules/local": {"resolved": "local", "link": true}}}`, libURL, libSRI, appURL, appSRI)
	p := write(t, "package-lock.json", lock)
	out, stderr, err := r.verify("--lockfile", p)
	if err != nil {
		t.Fatalf("verify --lockfile: %v\n%s", err, stderr)
	}
	wantIn(t, "stdout", out, "ok npm @acme/lib 1.0.0 lib-1.0.0.tgz", "ok npm app 1.0.0 app-1.0.0.tgz", "verified 2 artifacts")
	wantIn(t, "stderr", stderr, "node_modules/elsewhere: resolved from https://registry.example", "node_modules/local: a link")

	// A lockfile of another registry verifies nothing, which is an error.
	p = write(t, "package-lock.json", `{"lockfileVersion": 3, "packages": {"node_modules/x": {"version": "1.0.0", "resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz", "integrity": "sha512-AAAA"}}}`)
	if _, _, err := r.verify("--lockfile", p); err == nil || !strings.Contains(err.Error(), "no package was resolved from") {
		t.Errorf("verify of another registry's lockfile = %v", err)
	}

	// A tarball changed after publishing, with a lockfile made from it.
	r.tarballs[strings.TrimPrefix(appURL, r.srv.URL)] = []byte("evil")
	s := sha512.Sum512([]byte("evil"))
	p = write(t, "package-lock.json", strings.Replace(lock, appSRI, "sha512-"+base64.StdEncoding.EncodeToString(s[:]), 1))
	if _, stderr, err := r.verify("--lockfile", p); err == nil || !strings.Contains(stderr, "is not the file the log records") {
		t.Errorf("verify of a swapped tarball = %v\n%s", err, stderr)
	}
	// A tarball that does not match the lockfile.
	p = write(t, "package-lock.json", lock)
	if _, stderr, err := r.verify("--lockfile", p); err == nil || !strings.Contains(stderr, "but the lockfile's integrity is") {
		t.Errorf("verify of a tarball not matching the lockfile = %v\n%s", err, stderr)
	}
}

func TestVerifyRequirementsAndGoSum(t *testing.T) {
	r := newFakeRegistry(t)
	wheel, sdist := sum256([]byte("wheel")), sum256([]byte("sdist"))
	ev := logtest.Publish("pypi", "demo", "1.0", "demo-1.0-py3-none-any.whl", wheel)
	ev.Files = append(ev.Files, translog.FileDigest{Name: "demo-1.0.tar.gz", SHA256: sdist})
	r.log.Append(ev, &translog.Event{Kind: "publish", Ecosystem: "go", Name: "example.com/m", Version: "v1.0.0", Time: time.Now(),
		Lines: []string{"example.com/m v1.0.0 h1:abc=", "example.com/m v1.0.0/go.mod h1:def="}})

	req := write(t, "requirements.txt", "# locked\ndemo==1.0 \\\n    --hash=sha256:"+wheel+" \\\n    --hash=sha256:"+sdist+"\n")
	if out, stderr, err := r.verify("--lockfile", req); err != nil || !strings.Contains(out, "verified 1 artifacts") {
		t.Errorf("verify requirements.txt = %v\n%s%s", err, out, stderr)
	}
	req = write(t, "requirements.txt", "demo==1.0 --hash=sha256:"+strings.Repeat("0", 64)+"\nunpinned>=1\n")
	if _, stderr, err := r.verify("--lockfile", req); err == nil || !strings.Contains(stderr, "is not a file the log records") || !strings.Contains(stderr, "not pinned") {
		t.Errorf("verify of a bad requirements.txt = %v\n%s", err, stderr)
	}

	sum := write(t, "go.sum", "example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n")
	if out, stderr, err := r.verify("--lockfile", sum); err != nil || !strings.Contains(out, "ok go example.com/m v1.0.0 (2 go.sum lines)") {
		t.Errorf("verify go.sum = %v\n%s%s", err, out, stderr)
	}
	sum = write(t, "go.sum", "example.com/m v1.0.0 h1:xyz=\n")
	if _, stderr, err := r.verify("--lockfile", sum); err == nil || !strings.Contains(stderr, "is not in the log's publish record") {
		t.Errorf("verify of a wrong go.sum = %v\n%s", err, stderr)
	}
}

func TestVerifyKeyAndFork(t *testing.T) {
	r := newFakeRegistry(t)
	r.publishNPM("a", "1.0.0")
	t.Setenv("TROVE_LOG_KEY", "")
	err := runVerify(context.Background(), &verifyFlags{url: r.srv.URL, state: r.state}, []string{"npm:a@1.0.0"}, &bytes.Buffer{}, &bytes.Buffer{})
	var h hinted
	if !errors.As(err, &h) || !strings.Contains(err.Error(), "no log verifier key") {
		t.Errorf("verify without a key = %v, want a hinted error", err)
	}
	_, otherKey := logtest.GenerateKey(t)
	err = runVerify(context.Background(), &verifyFlags{url: r.srv.URL, key: otherKey, state: r.state}, []string{"npm:a@1.0.0"}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.As(err, &h) || !strings.Contains(err.Error(), "verifying checkpoint signature") {
		t.Errorf("verify with another key = %v", err)
	}

	if _, stderr, err := r.verify("npm:a@1.0.0"); err != nil {
		t.Fatalf("verify: %v\n%s", err, stderr)
	}
	before, _ := os.ReadFile(filepath.Join(r.state, logclient.CheckpointFile))
	fork := logtest.New(t, r.skey, r.log.VKey)
	fork.Append(logtest.Publish("npm", "a", "1.0.0", "a-1.0.0.tgz", sum256([]byte("evil"))))
	r.log2 = fork
	_, stderr, err := r.verify("npm:a@1.0.0")
	if !errors.Is(err, logclient.ErrSecurity) || !errors.As(err, &h) {
		t.Fatalf("verify against a fork = %v, want a hinted security error", err)
	}
	wantIn(t, "stderr", stderr, "SECURITY ERROR", "fork", strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(string(before)), "\n", "\n\t"), "\n\t\n", "\n\n"))
	after, _ := os.ReadFile(filepath.Join(r.state, logclient.CheckpointFile))
	if !bytes.Equal(before, after) {
		t.Errorf("the stored checkpoint changed after a fork")
	}
}

func TestVerifyAudit(t *testing.T) {
	r := newFakeRegistry(t)
	r.publishNPM("a", "1.0.0")
	r.log.Append(logtest.Change("yank", "npm", "a", "1.0.0", ""))
	out, stderr, err := r.verify("--audit")
	if err != nil {
		t.Fatalf("verify --audit: %v\n%s", err, stderr)
	}
	wantIn(t, "stdout", out, "audited 2 records", "publish    1", "yank       1", "npm        2")
}

// TestVerifyTimeout: a server that never answers fails the run after
// --timeout instead of hanging it.
func TestVerifyTimeout(t *testing.T) {
	r := newFakeRegistry(t)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	f := &verifyFlags{url: hang.URL, key: r.log.VKey, state: t.TempDir(), timeout: 200 * time.Millisecond}
	var out, errw bytes.Buffer
	err := runVerify(context.Background(), f, []string{"npm:demo@1.0.0"}, &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("verify against a server that hangs: %v, want a timeout error", err)
	}
}

// TestVerifyLockfilesWithoutDigests: a lockfile that cannot be verified
// says what is missing and how to write one that can: a package-lock.json
// without "resolved" URLs (npm's omit-lockfile-registry-resolved), a
// requirements file without hashes (pip-compile --generate-hashes).
func TestVerifyLockfilesWithoutDigests(t *testing.T) {
	r := newFakeRegistry(t)
	libURL, libSRI := r.publishNPM("@acme/lib", "1.0.0")
	_, appSRI := r.publishNPM("app", "1.0.0")
	lock := write(t, "package-lock.json", fmt.Sprintf(`{"lockfileVersion": 3, "packages": {
		"": {"name": "proj"},
		"node_modules/@acme/lib": {"version": "1.0.0", "resolved": %q, "integrity": %q},
		"node_modules/app": {"version": "1.0.0", "integrity": %q},
		"node_modules/app/node_modules/bundled": {"version": "2.0.0", "inBundle": true},
		"packages/member": {"version": "0.1.0"}}}`, libURL, libSRI, appSRI))
	out, stderr, err := r.verify("--lockfile", lock)
	wantIn(t, "stdout", out, "ok npm @acme/lib 1.0.0")
	wantIn(t, "stderr", stderr, `FAIL `+lock+`: 1 packages have no "resolved" URL, so there is no tarball to download and verify: app@1.0.0`,
		"node_modules/app/node_modules/bundled: not downloaded from a registry")
	var h hinted
	if err == nil || !errors.As(err, &h) || !strings.Contains(h.hint, "omit-lockfile-registry-resolved") || !strings.Contains(h.hint, "npm install --package-lock-only") {
		t.Errorf("verify of a lockfile without resolved = %v (hint %q); want a hint to write the resolved URLs", err, h.hint)
	}

	wheel := sum256([]byte("wheel"))
	r.log.Append(logtest.Publish("pypi", "demo", "1.0", "demo-1.0-py3-none-any.whl", wheel))
	for _, tc := range []struct{ content, want string }{
		{"demo==1.0\nother==2.0 ; python_version >= '3'\n", "no requirement has a --hash=sha256:… option: it is not a hash-checked requirements file"},
		{"demo==1.0 --hash=sha256:" + wheel + "\nother==2.0\n", "1 requirements have no --hash=sha256:… option"},
	} {
		req := write(t, "requirements.txt", tc.content)
		_, stderr, err := r.verify("--lockfile", req)
		wantIn(t, "stderr", stderr, tc.want, "line 2: other==2.0 has no --hash")
		var h hinted
		if err == nil || !errors.As(err, &h) || !strings.Contains(h.hint, "pip-compile --generate-hashes") {
			t.Errorf("verify of requirements without hashes = %v (hint %q); want a hint naming pip-compile --generate-hashes", err, h.hint)
		}
	}
}

// TestVerifyProof: trove verify --proof checks a proof served at
// /log/proof/N offline, with the log's key, and refuses a tampered one,
// another log's key and a proof given with other work.
func TestVerifyProof(t *testing.T) {
	r := newFakeRegistry(t)
	r.publishNPM("@acme/lib", "1.0.0")
	r.publishNPM("other", "2.0.0")
	r.publishNPM("third", "3.0.0")
	resp, err := http.Get(r.srv.URL + "/log/proof/1")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /log/proof/1 = %d %s", resp.StatusCode, data)
	}
	file := write(t, "record-1.tlog-proof", string(data))
	r.srv.Close() // offline from here on
	run := func(f *verifyFlags) (string, string, error) {
		var out, errw bytes.Buffer
		err := verifyProof(f, &out, &errw)
		return out.String(), errw.String(), err
	}
	out, stderr, err := run(&verifyFlags{key: r.log.VKey, proof: file})
	if err != nil {
		t.Fatalf("verify --proof: %v\n%s", err, stderr)
	}
	wantIn(t, "stdout", out, "record 1 is in the tree of 3 records signed by ", "publish npm other 2.0.0", "file other-2.0.0.tgz sha256:"+sum256([]byte("tarball of other@2.0.0")))

	// A proof whose record was swapped for another, or whose hashes were
	// changed, does not verify.
	p, err := translog.ParseProof(data)
	if err != nil {
		t.Fatal(err)
	}
	p.Text = []byte(strings.Replace(string(p.Text), "other", "evil", 1))
	bad := write(t, "swapped.tlog-proof", string(p.Format()))
	if _, _, err := run(&verifyFlags{key: r.log.VKey, proof: bad}); err == nil || !strings.Contains(err.Error(), "record 1 is not in the checkpoint's tree of 3 records") {
		t.Errorf("verify --proof of a swapped record = %v", err)
	}
	// Another log's key.
	_, vkey2 := logtest.GenerateKey(t)
	if _, _, err := run(&verifyFlags{key: vkey2, proof: file}); err == nil || !strings.Contains(err.Error(), "verifying the proof's checkpoint") {
		t.Errorf("verify --proof with another key = %v", err)
	}
	if _, _, err := run(&verifyFlags{proof: file}); err == nil || !strings.Contains(err.Error(), "no log verifier key") {
		t.Errorf("verify --proof without a key = %v", err)
	}
	if _, _, err := run(&verifyFlags{key: r.log.VKey, proof: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "reading --proof") {
		t.Errorf("verify --proof of a missing file = %v", err)
	}
}
