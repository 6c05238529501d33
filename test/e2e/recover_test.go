//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/translog"
)

// mirrorLog copies a server's public /log (checkpoint and entry bundles)
// into dir, as anyone mirroring the log does, and serves the copy.
func mirrorLog(t *testing.T, tr *Trove, dir string) {
	t.Helper()
	get := func(path string) []byte {
		resp, err := http.Get(tr.URL + "/log/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("mirroring /log/%s: %s", path, resp.Status)
		}
		return b
	}
	write := func(path string, b []byte) {
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp := get("checkpoint")
	n, err := strconv.ParseInt(strings.Split(string(cp), "\n")[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", cp, err)
	}
	for k := int64(0); k<<translog.TileHeight < n; k++ {
		tile := tlog.Tile{H: translog.TileHeight, L: -1, N: k, W: int(min(n-k<<translog.TileHeight, 1<<translog.TileHeight))}
		write(translog.TilePath(tile), get(translog.TilePath(tile)))
	}
	write("checkpoint", cp)
}

// copyDir replaces dst with a copy of src.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.RemoveAll(dst); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
}

// readyz returns the body of /readyz.
func readyz(t *testing.T, tr *Trove) string {
	t.Helper()
	resp, err := http.Get(tr.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestRecoverDrill is the disaster drill of docs/operations.md: a data
// directory restored from an old backup, with the blob store apart (as
// S3 would be). The server starts read-only and says what is missing;
// trove log recover rebuilds the rest from a mirror of /log and the blob
// store, the real npm installs what was published after the backup, the
// go command verifies a module against the checksum database, and an
// auditor that remembers the checkpoint from before finds no fork.
func TestRecoverDrill(t *testing.T) {
	blobs := t.TempDir()
	env := []string{"TROVE_STORAGE_DIR=" + blobs}
	tr := startTrove(t, env...)
	token := alice(t, tr)
	npm := newNPM(t, tr, token)
	npm.must(writePackage(t, libFiles("1.0.0")), "publish") // A
	if err := tr.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup")
	copyDir(t, tr.Data, backup)

	// After the backup: B (npm) and a Go module.
	tr2 := startTroveAt(t, tr.Data, env...)
	npm = newNPM(t, tr2, token)
	npm.must(writePackage(t, appFiles("1.0.0")), "publish") // B
	liba, _, _ := goModules(t)
	must(t, "", []string{"TROVE_TOKEN=" + token, "TROVE_URL=" + tr2.URL}, troveBin, "publish", "go", liba, "--module", goLibA, "--version", "v1.0.0")
	key := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + tr2.URL}, troveBin, "log", "gosumdb", "--key-only", "--data", tr.Data))
	// A go command and an auditor that saw the log as it was.
	gohome := t.TempDir()
	goenv := func(tr *Trove) []string {
		return []string{"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOWORK=off", "GOENV=off", "GOPROXY=" + tr.URL + "/go", "GOSUMDB=" + key,
			"GONOSUMDB=", "GONOSUMCHECK=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=", "GOPATH=" + filepath.Join(gohome, "gopath"),
			"GOMODCACHE=" + t.TempDir(), "GOCACHE=" + filepath.Join(gohome, "cache"), "HOME=" + gohome}
	}
	app := filepath.Join(t.TempDir(), "app")
	writeFiles(t, app, map[string]string{"go.mod": "module example.test/app\n\ngo 1.22\n"})
	must(t, app, goenv(tr2), "go", "get", goLibA+"@v1.0.0")
	audit := t.TempDir()
	wantOutput(t, "trove verify --audit before the restore", must(t, "", nil, troveBin, "verify", "--audit", "--url", tr2.URL, "--key", key, "--state", audit),
		"audited 6 records")
	mirror := t.TempDir()
	mirrorLog(t, tr2, mirror)
	mirrorServer := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer mirrorServer.Close()
	if err := tr2.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}

	// Restore the old backup: the server starts read-only.
	copyDir(t, backup, tr.Data)
	tr3 := startTroveAt(t, tr.Data, env...)
	behind := "the transparency log has 2 records, but this server published a checkpoint of 6"
	wantOutput(t, "/readyz of a restored server", readyz(t, tr3), "ready, read-only: "+behind, "trove log recover --from URL")
	if !tr3.Logged(regexp.QuoteMeta(behind)) {
		t.Errorf("trove serve's log does not say %q:\n%s", behind, tr3.Log())
	}
	npm = newNPM(t, tr3, token)
	out := npm.mustFail(writePackage(t, libFiles("1.1.0")), "publish", "--fetch-retries=0")
	wantOutput(t, "npm publish on a restored server", out, "503", behind)

	// Recover from the mirror, while the server runs.
	out = must(t, "", env, troveBin, "log", "recover", "--from", mirrorServer.URL, "--dry-run", "--data", tr.Data)
	wantOutput(t, "trove log recover --dry-run", out, "would recover record 2: owner npm app", "would recover record 3: publish npm app 1.0.0",
		"would recover record 5: publish go example.test/liba v1.0.0", "nothing was changed")
	out = must(t, "", env, troveBin, "log", "recover", "--from", mirrorServer.URL, "--data", tr.Data)
	wantOutput(t, "trove log recover", out, "recovered record 3: publish npm app 1.0.0", "recovered 4 records", "writes are allowed")
	out = must(t, "", env, troveBin, "log", "recover", "--from", mirrorServer.URL, "--data", tr.Data)
	wantOutput(t, "trove log recover again", out, "nothing to recover")
	deadline := time.Now().Add(10 * time.Second)
	for readyz(t, tr3) != "ready\n" {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not become writable after the recovery: %s", readyz(t, tr3))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// B installs with the real npm; the module verifies against the
	// checksum database for a go command that remembers the old tree.
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.must(proj, "install", "app@1.0.0")
	if _, err := os.Stat(filepath.Join(proj, "node_modules", "@acme", "lib", "index.js")); err != nil {
		t.Errorf("npm install app did not install its dependency: %v", err)
	}
	app2 := filepath.Join(t.TempDir(), "app")
	writeFiles(t, app2, map[string]string{"go.mod": "module example.test/app\n\ngo 1.22\n"})
	must(t, app2, goenv(tr3), "go", "mod", "download", "-json", goLibA+"@v1.0.0")
	wantOutput(t, "trove verify --audit after the recovery", must(t, "", nil, troveBin, "verify", "--audit", "--url", tr3.URL, "--key", key, "--state", audit),
		"audited 6 records")

	// A new publish works and extends the published log.
	npm.must(writePackage(t, libFiles("1.1.0")), "publish")
	wantOutput(t, "trove verify --audit after a new publish", must(t, "", nil, troveBin, "verify", "--audit", "--url", tr3.URL, "--key", key, "--state", audit),
		"audited 7 records")
}

// TestRecoverRefusesFork: a restored database that went on publishing
// something else (its server did not know the newer checkpoint) is a
// different history. trove log recover and trove serve refuse it, naming
// the record that differs.
func TestRecoverRefusesFork(t *testing.T) {
	blobs := t.TempDir()
	env := []string{"TROVE_STORAGE_DIR=" + blobs}
	tr := startTrove(t, env...)
	token := alice(t, tr)
	newNPM(t, tr, token).must(writePackage(t, libFiles("1.0.0")), "publish")
	tr.Stop(20 * time.Second)
	backup := filepath.Join(t.TempDir(), "backup")
	copyDir(t, tr.Data, backup)
	tr2 := startTroveAt(t, tr.Data, env...)
	newNPM(t, tr2, token).must(writePackage(t, appFiles("1.0.0")), "publish")
	mirror := t.TempDir()
	mirrorLog(t, tr2, mirror)
	tr2.Stop(20 * time.Second)

	// The old backup with a blob store that lost its state objects: the
	// server knows only the old checkpoint, and publishes another package.
	copyDir(t, backup, tr.Data)
	os.RemoveAll(filepath.Join(blobs, "state"))
	tr3 := startTroveAt(t, tr.Data, env...)
	newNPM(t, tr3, token).must(writePackage(t, map[string]string{"package.json": `{"name":"other","version":"1.0.0"}`, "index.js": "\n"}), "publish")
	tr3.Stop(20 * time.Second)

	out := mustFail(t, "", env, troveBin, "log", "recover", "--from", mirror, "--data", tr.Data)
	wantOutput(t, "trove log recover over a fork", out, "transparency log forked", "record 2 differs",
		`the database holds "trove-event 1\nowner npm other`, `holds "trove-event 1\nowner npm app`)
	out, err := runCmd(t, "", append(env, "TROVE_TRANSPARENCY_MIRRORS=file-is-not-a-url"), "", troveBin, "serve", "--data", tr.Data, "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, "transparency.mirrors") {
		t.Errorf("trove serve with a bad mirror:\n%s", out)
	}
	web := httptest.NewServer(http.FileServer(http.Dir(mirror)))
	defer web.Close()
	out, err = runCmd(t, "", append(env, "TROVE_TRANSPARENCY_MIRRORS="+web.URL), "", troveBin, "serve", "--data", tr.Data, "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, "refusing to start") || !strings.Contains(out, "record 2 differs") {
		t.Errorf("trove serve over a forked database:\n%s\nwant a refusal naming record 2", out)
	}
}
