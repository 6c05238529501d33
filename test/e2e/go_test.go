//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Go test publishes two modules with `trove publish go` and builds a
// program that needs them with the real go command, reading only from
// Trove: its GOPROXY for the modules and its checksum database (GOSUMDB)
// for their go.sum lines. A tampered zip blob must then fail verification.

const (
	goLibA = "example.test/liba"
	goLibB = "example.test/libb" // imports liba
)

// goEnv returns the environment of an isolated go command using Trove as
// its only proxy and checksum database.
func goEnv(t *testing.T, tr *Trove, gosumdb, gocache string) []string {
	t.Helper()
	home := t.TempDir()
	return []string{
		"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOWORK=off", "GOENV=off",
		"GOPROXY=" + tr.URL + "/go", "GOSUMDB=" + gosumdb,
		"GONOSUMDB=", "GONOSUMCHECK=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=",
		"GOPATH=" + filepath.Join(home, "gopath"), "GOMODCACHE=" + filepath.Join(home, "modcache"),
		"GOCACHE=" + gocache, "HOME=" + home,
	}
}

// goModules writes liba and libb and the program using them, and returns
// their directories.
func goModules(t *testing.T) (liba, libb, app string) {
	t.Helper()
	root := t.TempDir()
	liba, libb, app = filepath.Join(root, "liba"), filepath.Join(root, "libb"), filepath.Join(root, "app")
	writeFiles(t, liba, map[string]string{
		"go.mod":  "module " + goLibA + "\n\ngo 1.22\n",
		"liba.go": "// Package liba greets.\npackage liba\n\n// Greeting is a greeting.\nfunc Greeting() string { return \"hello from liba\" }\n",
	})
	writeFiles(t, libb, map[string]string{
		"go.mod":  "module " + goLibB + "\n\ngo 1.22\n\nrequire " + goLibA + " v1.0.0\n",
		"libb.go": "// Package libb relays liba.\npackage libb\n\nimport \"" + goLibA + "\"\n\n// Message relays liba's greeting.\nfunc Message() string { return \"libb says: \" + liba.Greeting() }\n",
	})
	writeFiles(t, app, map[string]string{
		"go.mod":  "module example.test/app\n\ngo 1.22\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"" + goLibB + "\"\n)\n\nfunc main() { fmt.Println(libb.Message()) }\n",
	})
	return liba, libb, app
}

func TestGoModules(t *testing.T) {
	// No blob cache, so that the tampered blob below is what is served;
	// no scrub, whose first run on a new data directory comes within 15 s
	// of the start and would take the tampered blob out of service (503)
	// before the go command sees it (internal/registry TestScrub tests that).
	tr := startTrove(t, "TROVE_CACHE_BLOB_BYTES=0", "TROVE_STORAGE_SCRUB_INTERVAL=0")
	tr.AddUser(t, "alice")
	token := tr.Token(t, "alice", "go:example.test/*", "publish")
	liba, libb, app := goModules(t)

	pubEnv := []string{"TROVE_TOKEN=" + token, "TROVE_URL=" + tr.URL}
	out := must(t, "", pubEnv, troveBin, "publish", "go", liba, "--module", goLibA, "--version", "v1.0.0")
	if !strings.Contains(out, "published "+goLibA+"@v1.0.0") || !strings.Contains(out, goLibA+" v1.0.0/go.mod h1:") {
		t.Fatalf("trove publish go liba:\n%s", out)
	}
	must(t, "", pubEnv, troveBin, "publish", "go", libb, "--version", "v1.0.0")
	if out := mustFail(t, "", pubEnv, troveBin, "publish", "go", liba, "--version", "v1.0.0"); !strings.Contains(out, "409") || !strings.Contains(out, "immutable") {
		t.Errorf("republishing liba v1.0.0:\n%s\nwant 409, versions are immutable", out)
	}

	addr := strings.TrimPrefix(tr.URL, "http://")
	// The server listens on a port of its own: trove log gosumdb asks it
	// (TROVE_URL, as the README's recipe sets it) and checks its key
	// against the data directory's.
	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + tr.URL}, troveBin, "log", "gosumdb", "--data", tr.Data))
	key, dbURL, ok := strings.Cut(gosumdb, " ")
	if !ok || dbURL != tr.URL+"/go/sumdb/"+addr+"/log" {
		t.Fatalf("trove log gosumdb = %q, want <key> %s/go/sumdb/%s/log", gosumdb, tr.URL, addr)
	}
	gocache := t.TempDir()

	// The full GOSUMDB value: key and URL.
	env := goEnv(t, tr, gosumdb, gocache)
	must(t, app, env, "go", "get", goLibB+"@v1.0.0")
	if out := must(t, app, env, "go", "run", "."); strings.TrimSpace(out) != "libb says: hello from liba" {
		t.Errorf("go run = %q", out)
	}
	sum, err := os.ReadFile(filepath.Join(app, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{goLibA + " v1.0.0 h1:", goLibA + " v1.0.0/go.mod h1:", goLibB + " v1.0.0 h1:"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("go.sum lacks %q:\n%s", want, sum)
		}
	}

	// trove verify proves the go.sum the go command wrote, line by line,
	// against the transparency log.
	verify := []string{"verify", "--url", tr.URL, "--key", key, "--state", t.TempDir()}
	out = must(t, "", nil, troveBin, append(verify, "go:"+goLibA+"@v1.0.0")...)
	wantOutput(t, "trove verify go:", out, "v1.0.0.zip sha256:", "verified 1 artifacts against checkpoint ")
	out = must(t, "", nil, troveBin, append(verify, "--lockfile", filepath.Join(app, "go.sum"))...)
	wantOutput(t, "trove verify --lockfile go.sum", out, "ok go "+goLibA+" v1.0.0 (2 go.sum lines)", "ok go "+goLibB+" v1.0.0 (2 go.sum lines)", "verified 2 artifacts")
	// A go.sum line the log does not hold fails.
	forged := filepath.Join(t.TempDir(), "go.sum")
	if err := os.WriteFile(forged, []byte(goLibA+" v1.0.0 h1:"+strings.Repeat("A", 43)+"=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustFail(t, "", nil, troveBin, append(verify, "--lockfile", forged)...)
	wantOutput(t, "trove verify of a forged go.sum", out, goLibA)

	// Just the key: the go command finds the database through GOPROXY
	// (/go/sumdb/<name>/supported) and verifies with it.
	app2 := filepath.Join(t.TempDir(), "app")
	writeFiles(t, app2, map[string]string{"go.mod": "module example.test/app\n\ngo 1.22\n",
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"" + goLibB + "\"\n)\n\nfunc main() { fmt.Println(libb.Message()) }\n"})
	env = goEnv(t, tr, key, gocache)
	must(t, app2, env, "go", "get", goLibB+"@v1.0.0")
	must(t, app2, env, "go", "build", "-o", os.DevNull, ".")
	lookups, _ := filepath.Glob(filepath.Join(envValue(env, "GOMODCACHE"), "cache", "download", "sumdb", addr, "log", "lookup", "*"))
	if len(lookups) == 0 {
		t.Errorf("the go command made no checksum database lookups through the proxy")
	}

	// A version unknown to the database fails verification.
	if out := mustFail(t, app2, env, "go", "get", goLibA+"@v9.9.9"); !strings.Contains(out, "not found") && !strings.Contains(out, "404") {
		t.Errorf("go get of an unknown version:\n%s", out)
	}

	// A deleted version is gone for good: 410 for the go command, left out
	// of the list, and never publishable again.
	must(t, "", pubEnv, troveBin, "publish", "go", liba, "--version", "v1.1.0")
	yankEnv := []string{"TROVE_TOKEN=" + tr.Token(t, "alice", "go:example.test/*", "yank"), "TROVE_URL=" + tr.URL}
	must(t, "", yankEnv, troveBin, "delete", "go", goLibA, "v1.1.0", "--yes")
	if resp, err := http.Get(tr.URL + "/go/" + goLibA + "/@v/v1.1.0.info"); err != nil || resp.StatusCode != http.StatusGone {
		t.Errorf("GET .info of a deleted version: %v %v, want 410 Gone", resp.Status, err)
	}
	if resp, err := http.Get(tr.URL + "/go/" + goLibA + "/@v/list"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "v1.0.0\n" {
			t.Errorf("@v/list after deleting v1.1.0 = %q, want only v1.0.0", b)
		}
	}
	if out := mustFail(t, app2, env, "go", "get", goLibA+"@v1.1.0"); !strings.Contains(out, "410 Gone") {
		t.Errorf("go get of a deleted version:\n%s\nwant 410 Gone", out)
	}
	if out := mustFail(t, "", pubEnv, troveBin, "publish", "go", liba, "--version", "v1.1.0"); !strings.Contains(out, "409") {
		t.Errorf("republishing a deleted version:\n%s\nwant 409", out)
	}

	// Tamper with liba's zip blob: with a clean module cache, the go
	// command must refuse it.
	tamper(t, tr, "/go/example.test/liba/@v/v1.0.0.zip")
	for _, gs := range []string{gosumdb, key} {
		app3 := filepath.Join(t.TempDir(), "app")
		writeFiles(t, app3, map[string]string{"go.mod": "module example.test/app\n\ngo 1.22\n\nrequire " + goLibA + " v1.0.0\n",
			"main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"" + goLibA + "\"\n)\n\nfunc main() { fmt.Println(liba.Greeting()) }\n"})
		out := mustFail(t, app3, goEnv(t, tr, gs, gocache), "go", "build", "-o", os.DevNull, ".")
		if !strings.Contains(out, "SECURITY ERROR") || !strings.Contains(out, "checksum mismatch") {
			t.Errorf("go build with a tampered zip (GOSUMDB=%q):\n%s\nwant a checksum verification failure", gs, out)
		}
	}
}

// envValue returns the value of k in env.
func envValue(env []string, k string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, k+"="); ok {
			return v
		}
	}
	return ""
}

// tamper flips a byte of the blob served at path, on disk.
func tamper(t *testing.T, tr *Trove, path string) {
	t.Helper()
	resp, err := http.Get(tr.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %s", path, err, resp.Status)
	}
	s := sha256.Sum256(b)
	digest := hex.EncodeToString(s[:])
	var found string
	filepath.WalkDir(tr.Data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == digest {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no blob file named %s under %s", digest, tr.Data)
	}
	// Replace the blob with another valid zip of the same size whose
	// liba.go says something else: only its hash gives it away.
	forged := forgeZip(t, b, len(b))
	os.Chmod(found, 0o644)
	if err := os.WriteFile(found, forged, 0o644); err != nil {
		t.Fatal(err)
	}
}

// forgeZip rewrites a module zip with "hello" replaced by "owned" in every
// file, padded with a zip comment to size bytes.
func forgeZip(t *testing.T, orig []byte, size int) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(orig), int64(len(orig)))
	if err != nil {
		t.Fatal(err)
	}
	write := func(comment string) []byte {
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			w, err := zw.Create(f.Name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(bytes.ReplaceAll(data, []byte("hello"), []byte("owned")))
		}
		zw.SetComment(comment)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	forged := write("")
	if len(forged) > size {
		t.Fatalf("forged zip is %d bytes, more than the original's %d", len(forged), size)
	}
	forged = write(strings.Repeat(" ", size-len(forged)))
	if len(forged) != size || bytes.Equal(forged, orig) {
		t.Fatalf("forged zip: %d bytes (want %d), same as the original: %v", len(forged), size, bytes.Equal(forged, orig))
	}
	return forged
}
