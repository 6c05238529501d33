package npm

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/trove-dev/trove/internal/trove"
)

// fixtureHeader parses the key=value lines of a txtar comment.
func fixtureHeader(comment []byte) map[string]string {
	h := map[string]string{}
	for _, line := range strings.Split(string(comment), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			h[k] = v
		}
	}
	return h
}

// fixtureTar builds a tar archive from txtar files. A file name may start
// with an entry type (dir, symlink, hardlink, char, block, fifo) and end
// with "-> target" for links.
func fixtureTar(t *testing.T, files []txtar.File) []byte {
	var entries []tarEntry
	types := map[string]byte{"dir": tar.TypeDir, "symlink": tar.TypeSymlink, "hardlink": tar.TypeLink,
		"char": tar.TypeChar, "block": tar.TypeBlock, "fifo": tar.TypeFifo}
	for _, f := range files {
		e := tarEntry{name: f.Name, body: string(f.Data)}
		if kind, rest, ok := strings.Cut(f.Name, " "); ok && types[kind] != 0 {
			e.typ, e.name, e.body = types[kind], rest, ""
		}
		if name, link, ok := strings.Cut(e.name, " -> "); ok {
			e.name, e.link = name, link
		}
		entries = append(entries, e)
	}
	return makeTar(t, entries...)
}

func TestReadTarballFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/tarball/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h := fixtureHeader(a.Comment)
			b := fixtureTar(t, a.Files)
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
}

func TestReadTarballLimits(t *testing.T) {
	pj := tarEntry{name: "package/package.json", body: `{"name":"demo","version":"1.0.0"}`}
	small := tarLimits{entries: 5, fileSize: 1000, unpacked: 2000, overhead: 64 << 10, ratio: 100, ratioFloor: 1 << 20}
	many := []tarEntry{pj}
	for i := 0; i < 5; i++ {
		many = append(many, tarEntry{name: fmt.Sprintf("package/f%d.js", i)})
	}
	threeBig := []tarEntry{pj}
	for i := 0; i < 3; i++ {
		threeBig = append(threeBig, tarEntry{name: fmt.Sprintf("package/big%d", i), body: strings.Repeat("x", 900)})
	}
	headers := []tarEntry{pj} // empty files: all headers, no content
	for i := 0; i < 300; i++ {
		headers = append(headers, tarEntry{name: fmt.Sprintf("package/empty%d", i)})
	}
	zeros := make([]byte, 20<<20)
	bombTar := makeTar(t, pj, tarEntry{name: "package/zeros", body: string(zeros)})
	for _, tc := range []struct {
		name string
		tgz  []byte
		lim  tarLimits
		want string
	}{
		{"entries", makeTgz(t, many...), small, "more than 5 entries"},
		{"file size", makeTgz(t, pj, tarEntry{name: "package/big", body: strings.Repeat("x", 1001)}), small, "larger than 1000 bytes"},
		{"total size", makeTgz(t, threeBig...), small, "more than 2000 bytes"},
		{"ratio", gzipBytes(t, bombTar), defaultTarLimits, "compression ratio"},
		{"decompressed size", makeTgz(t, headers...), tarLimits{entries: 1000, fileSize: 1 << 20, unpacked: 1024, overhead: 64 << 10, ratio: 1 << 20, ratioFloor: 1 << 40}, "decompresses to more than"},
		{"package.json size", makeTgz(t, tarEntry{name: "package/package.json", body: `{"name":"demo","version":"1.0.0","x":"` + strings.Repeat("x", MaxPackageJSONSize) + `"}`}), defaultTarLimits, "package.json is larger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readTarballLimits(bytes.NewReader(tc.tgz), int64(len(tc.tgz)), tc.lim)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("readTarball = %v, want ErrTooLarge containing %q", err, tc.want)
			}
		})
	}
}

func TestReadTarballBroken(t *testing.T) {
	good := pkgTgz(t, `{"name":"demo","version":"1.0.0"}`, "index.js", strings.Repeat("console.log(1)\n", 500))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 in the gzip trailer
	hugeHeader := func() []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		tw.WriteHeader(&tar.Header{Name: "package/package.json", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o644})
		return gzipBytes(t, b.Bytes())
	}()
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not gzip-compressed"},
		{"truncated gzip", good[:len(good)/2], "package tarball"},
		{"checksum", corrupt, "package tarball"},
		{"garbage tar", gzipBytes(t, bytes.Repeat([]byte("not a tar archive "), 100)), "broken archive"},
		{"declared size", hugeHeader, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readTarball(bytes.NewReader(tc.b), int64(len(tc.b)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("readTarball = %v, want an error containing %q", err, tc.want)
			}
			if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("readTarball error %v is not the client's (ErrInvalid or ErrTooLarge)", err)
			}
		})
	}
	if _, err := readTarball(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("the intact tarball: %v", err)
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
	f.Add(makeTgz(tt, tarEntry{name: "package/package.json", body: "{}"}, tarEntry{name: "package/l", typ: tar.TypeSymlink, link: "../x"}))
	f.Add(makeTgz(tt, tarEntry{name: "a/package.json", body: "{}"}, tarEntry{name: "a/b", typ: tar.TypeLink, link: "a/package.json"}))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := tarLimits{entries: 100, fileSize: 1 << 20, unpacked: 2 << 20, overhead: 1 << 20, ratio: 100, ratioFloor: 1 << 20}
		tb, err := readTarballLimits(bytes.NewReader(b), int64(len(b)), lim)
		if err != nil {
			if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("readTarball error %v is not ErrInvalid or ErrTooLarge", err)
			}
			return
		}
		if tb.packageJSON == nil || len(tb.files) > lim.entries || tb.unpackedSize > lim.unpacked {
			t.Fatalf("readTarball accepted %d files, %d bytes, package.json %v", len(tb.files), tb.unpackedSize, tb.packageJSON != nil)
		}
		for _, f := range tb.files {
			if !localPath(f) || strings.HasPrefix(f, "/") || strings.Contains(f, `\`) {
				t.Fatalf("readTarball accepted the path %q", f)
			}
		}
	})
}
