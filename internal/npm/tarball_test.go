package npm

import (
	"archive/tar"
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/trove"
)

func TestReadTarballFixtures(t *testing.T) {
	archivetest.RunFixtures(t, "testdata/tarball/*.txtar", func(t *testing.T, a archivetest.Fixture) {
		h := a.Header
		b := archivetest.FixtureTar(t, a.Files)
		if h["gzip"] != "false" {
			b = gzipBytes(t, b)
		}
		tb, err := readTarball(bytes.NewReader(b), int64(len(b)))
		if want := h["wantErr"]; want != "" {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("readTarball = %v, want an error containing %q", err, want)
			}
			if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("readTarball error %v is not ErrInvalid or ErrTooLarge", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("readTarball: %v", err)
		}
		if want, ok := h["files"]; ok && strconv.Itoa(len(tb.files)) != want {
			t.Errorf("files = %q, want %s", tb.files, want)
		}
		if want, ok := h["readme"]; ok && tb.readmeFilename != want {
			t.Errorf("readme file = %q, want %q", tb.readmeFilename, want)
		}
		if _, err := parsePackageJSON(tb.packageJSON); err != nil {
			t.Errorf("package.json: %v", err)
		}
	})
}

// TestReadTarballPackageJSONSize bounds the package.json Trove reads; the
// archive's own limits are internal/archive's (TestTarLimits).
func TestReadTarballPackageJSONSize(t *testing.T) {
	tgz := makeTgz(t, tarEntry{Name: "package/package.json", Body: `{"name":"demo","version":"1.0.0","x":"` + strings.Repeat("x", MaxPackageJSONSize) + `"}`})
	_, err := readTarball(bytes.NewReader(tgz), int64(len(tgz)))
	if err == nil || !strings.Contains(err.Error(), "package.json is larger") || !errors.Is(err, trove.ErrTooLarge) {
		t.Fatalf("readTarball = %v, want ErrTooLarge saying package.json is larger", err)
	}
}

// TestReadTarballArchiveErrors checks that internal/archive's errors reach
// npm with their category, prefixed with what was read.
func TestReadTarballArchiveErrors(t *testing.T) {
	pj := tarEntry{Name: "package/package.json", Body: `{"name":"demo","version":"1.0.0"}`}
	for _, tc := range []struct {
		name string
		tgz  []byte
		kind error
		want string
	}{
		{"hard link", makeTgz(t, pj, tarEntry{Name: "package/copy.json", Type: tar.TypeLink, Linkname: "package/package.json"}), trove.ErrInvalid, `package tarball: entry "package/copy.json" is a hard link`},
		{"bomb", makeTgz(t, pj, tarEntry{Name: "package/zeros", Body: string(make([]byte, 20<<20))}), trove.ErrTooLarge, "package tarball: the archive unpacks to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readTarball(bytes.NewReader(tc.tgz), int64(len(tc.tgz)))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.kind) {
				t.Fatalf("readTarball = %v, want %v containing %q", err, tc.kind, tc.want)
			}
		})
	}
}

func TestReadmeCut(t *testing.T) {
	long := strings.Repeat("é", MaxReadmeSize) // 2 bytes each: the cut falls inside a rune half the time
	tgz := pkgTgz(t, `{"name":"demo","version":"1.0.0"}`, "README.md", long)
	tb, err := readTarball(bytes.NewReader(tgz), int64(len(tgz)))
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.readme) > MaxReadmeSize || !strings.HasPrefix(long, tb.readme) || len(tb.readme) < MaxReadmeSize-4 {
		t.Errorf("readme cut to %d bytes, not a clean prefix of at most %d", len(tb.readme), MaxReadmeSize)
	}
}

func FuzzReadTarball(f *testing.F) {
	tt := &testing.T{}
	f.Add(pkgTgz(tt, `{"name":"demo","version":"1.0.0"}`, "README.md", "# hi", "lib/a.js", "x"))
	f.Add(makeTgz(tt, tarEntry{Name: "package/package.json", Body: "{}"}, tarEntry{Name: "package/l", Type: tar.TypeSymlink, Linkname: "../x"}))
	f.Add(makeTgz(tt, tarEntry{Name: "a/package.json", Body: "{}"}, tarEntry{Name: "b/c", Body: "x"}))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := readTarball(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("readTarball error %v is not ErrInvalid or ErrTooLarge", err)
			}
			return
		}
		if tb.packageJSON == nil || len(tb.files) > archive.MaxEntries || tb.unpackedSize > archive.MaxUnpacked {
			t.Fatalf("readTarball accepted %d files, %d bytes, package.json %v", len(tb.files), tb.unpackedSize, tb.packageJSON != nil)
		}
		for _, f := range tb.files {
			if archive.CheckName(tb.root+"/"+f, archive.MaxNameLen) != nil {
				t.Fatalf("readTarball accepted the path %q", f)
			}
		}
	})
}
