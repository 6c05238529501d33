//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBackupRestore backs up a serving Trove while npm publishes to it,
// restores the backup into a new data directory beside a copy of the blob
// store, serves it, and installs and verifies with the real clients.
func TestBackupRestore(t *testing.T) {
	tr := startTrove(t)
	token := alice(t, tr)
	npm := newNPM(t, tr, token)
	npm.must(writePackage(t, libFiles("1.0.0")), "publish")
	_, wheel := pyBuild(t, pyProject(t, pyLib, "1.0.0", "lib 1.0.0"))
	if out, err := twine(t, tr, token, nil, wheel); err != nil {
		t.Fatalf("twine upload: %v\n%s", err, out)
	}
	dirs := make([]string, 4)
	for i := range dirs {
		dirs[i] = writePackage(t, libFiles(fmt.Sprintf("1.1.%d", i)))
	}

	// Publishes run while the backup is made.
	var wg sync.WaitGroup
	var publishErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, dir := range dirs[:3] {
			if out, err := runCmd(t, dir, npmEnv, "", "npm", npm.args("publish")...); err != nil {
				publishErr = fmt.Errorf("npm publish during the backup: %v\n%s", err, out)
				return
			}
		}
	}()
	archive := filepath.Join(t.TempDir(), "trove.backup")
	out := tr.trove(t, "", "backup", "--out", archive)
	wg.Wait()
	if publishErr != nil {
		t.Fatal(publishErr)
	}
	wantOutput(t, "trove backup", out, "wrote "+archive, "copy the blob store separately")
	// One more after the backup: the old server's checkpoint is then newer.
	npm.must(dirs[3], "publish")

	// The operator's part: the blob store and the signing key, copied by
	// their own means.
	restored := t.TempDir()
	must(t, "", nil, "cp", "-a", filepath.Join(tr.Data, "blobs"), filepath.Join(restored, "blobs"))
	out = must(t, "", nil, troveBin, "restore", "--in", archive, "--verify-blobs", "--data", restored)
	wantOutput(t, "trove restore", out, "restored ", "extends the backup's signed checkpoint", " 0 missing or wrong")
	wantOutput(t, "trove restore", out, "trove: warning: no log signing key")
	copyFile(t, filepath.Join(tr.Data, "log", "signer.key"), filepath.Join(restored, "log", "signer.key"), 0o600)
	// The key sealing the TOTP secrets is not in backups either: copied the same way.
	copyFile(t, factorKey(tr.Data), factorKey(restored), 0o600)

	// Restoring where the old server's newer checkpoint is kept says so.
	again := t.TempDir()
	must(t, "", nil, "cp", "-a", filepath.Join(tr.Data, "blobs"), filepath.Join(again, "blobs"))
	copyFile(t, filepath.Join(tr.Data, "log", "checkpoint"), filepath.Join(again, "log", "checkpoint"), 0o644)
	out = must(t, "", nil, troveBin, "restore", "--in", archive, "--data", again)
	wantOutput(t, "trove restore under a newer checkpoint", out, "newer than this backup", "hint: run trove log recover")

	if err := tr.Stop(20e9); err != nil {
		t.Fatal(err)
	}
	// The copied blob store keeps the old server's newest checkpoint and a
	// copy of its records: the publish after the backup is recovered from
	// it (else the restored server would start read-only).
	out = must(t, "", nil, troveBin, "log", "recover", "--data", restored)
	wantOutput(t, "trove log recover after the restore", out, "read from the blob store", "writes are allowed")
	tr2 := startTroveAt(t, restored)
	npm2 := newNPM(t, tr2, "")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm2.must(proj, "install", "@acme/lib@1.0.0")
	target := t.TempDir()
	if out, err := pip(t, tr2, "install", "--target", target, pyLib+"==1.0.0"); err != nil {
		t.Fatalf("pip install from the restored server: %v\n%s", err, out)
	}
	key := strings.TrimSpace(must(t, "", nil, troveBin, "log", "key", "--data", restored))
	out = must(t, "", nil, troveBin, "verify", "--url", tr2.URL, "--key", key, "--state", t.TempDir(),
		"npm:@acme/lib@1.0.0", "pypi:"+pyLib+"==1.0.0", "--audit")
	wantOutput(t, "trove verify on the restored server", out, "the root hash recomputed from every record matches the signed checkpoint")
	wantOutput(t, "trove fsck on the restored server", must(t, "", nil, troveBin, "fsck", "--data", restored), "0 damaged or missing")
}

func copyFile(t *testing.T, from, to string, perm os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, perm); err != nil {
		t.Fatal(err)
	}
}
