package pypi

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/trove"
)

// TestReadSdist checks the sdist's own rules; the archive's are
// internal/archive's.
func TestReadSdist(t *testing.T) {
	const root = "demo-1.0/"
	pkgInfo := tarEntry{Name: root + "PKG-INFO", Body: testMetadata}
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		wantErr string
	}{
		{"ok", []tarEntry{{Name: root, Type: tar.TypeDir}, pkgInfo, {Name: root + "setup.py"}}, ""},
		{"ok without directory entries", []tarEntry{pkgInfo, {Name: root + "src/demo/__init__.py"}}, ""},
		{"outside root", []tarEntry{pkgInfo, {Name: "other/x.py"}}, "outside the sdist's top-level directory demo-1.0/"},
		{"root prefix only", []tarEntry{pkgInfo, {Name: "demo-1.0x/x.py"}}, "outside"},
		{"no PKG-INFO", []tarEntry{{Name: root + "setup.py"}}, "no demo-1.0/PKG-INFO"},
		{"PKG-INFO elsewhere", []tarEntry{{Name: root + "src/PKG-INFO", Body: testMetadata}}, "no demo-1.0/PKG-INFO"},
		{"PKG-INFO directory", []tarEntry{{Name: root + "PKG-INFO/", Type: tar.TypeDir}}, "no demo-1.0/PKG-INFO"},
		{"huge PKG-INFO", []tarEntry{{Name: root + "PKG-INFO", Body: strings.Repeat("x", MaxMetadataBytes+1)}}, "larger than"},
		{"hard link", []tarEntry{pkgInfo, {Name: root + "link", Type: tar.TypeLink, Linkname: root + "PKG-INFO"}}, "hard link"},
		{"bomb", []tarEntry{pkgInfo, {Name: root + "zeros", Body: strings.Repeat("\x00", archive.RatioFloor+1<<20)}}, "compression bomb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := makeTarGz(t, tc.entries...)
			got, err := readSdist(bytes.NewReader(b), int64(len(b)), ".tar.gz", "demo-1.0")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readSdist = %v; want an error containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
					t.Fatalf("readSdist error %v has no category", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("readSdist: %v", err)
			}
			if string(got) != testMetadata {
				t.Errorf("readSdist = %q, want %q", got, testMetadata)
			}
		})
	}
}

func TestReadSdistZip(t *testing.T) {
	ok := makeZip(t, zipEntry{Name: "demo-1.0/PKG-INFO", Body: testMetadata}, zipEntry{Name: "demo-1.0/setup.py"})
	if got, err := readSdist(bytes.NewReader(ok), int64(len(ok)), ".zip", "demo-1.0"); err != nil || string(got) != testMetadata {
		t.Errorf("readSdist(zip) = %q, %v", got, err)
	}
	outside := makeZip(t, zipEntry{Name: "demo-1.0/PKG-INFO", Body: testMetadata}, zipEntry{Name: "evil.py"})
	if _, err := readSdist(bytes.NewReader(outside), int64(len(outside)), ".zip", "demo-1.0"); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("readSdist(zip with an entry outside the root) = %v", err)
	}
	link := makeZip(t, zipEntry{Name: "demo-1.0/PKG-INFO", Body: testMetadata}, zipEntry{Name: "demo-1.0/l", Mode: 0o120777})
	if _, err := readSdist(bytes.NewReader(link), int64(len(link)), ".zip", "demo-1.0"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("readSdist(zip with a symlink) = %v", err)
	}
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	gz := gzip.NewWriter(&out)
	gz.Write(b)
	gz.Close()
	return out.Bytes()
}

func FuzzReadSdist(f *testing.F) {
	f.Add(makeSdist(f, "demo", "1.0", testMetadata))
	f.Add(makeTarGz(f, tarEntry{Name: "demo-1.0/PKG-INFO", Body: testMetadata}, tarEntry{Name: "demo-1.0/l", Type: tar.TypeSymlink, Linkname: "/"}))
	f.Add(gzipped([]byte("not a tar")))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := readSdist(bytes.NewReader(b), int64(len(b)), ".tar.gz", "demo-1.0")
		if err != nil {
			if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("readSdist error %v has no category", err)
			}
			return
		}
		if len(md) > MaxMetadataBytes {
			t.Fatalf("readSdist returned %d bytes of PKG-INFO", len(md))
		}
		// Every entry of an accepted archive is a plain file or directory
		// inside the root.
		gz, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.Typeflag == tar.TypeXGlobalHeader {
				continue
			}
			if archive.CheckName(h.Name, archive.MaxNameLen) != nil || underRoot(strings.TrimSuffix(h.Name, "/"), "demo-1.0") != nil || h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeDir {
				t.Fatalf("readSdist accepted entry %q of type %q", h.Name, h.Typeflag)
			}
		}
	})
}
