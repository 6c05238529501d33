// Package archivetest builds archives for tests: tar, tar.gz and zip files
// and Go module zips, with whatever entries a test needs, including the
// ones Trove must refuse (links, devices, raw zip headers). One set of
// builders serves the archive reader's tests and every adapter's.
package archivetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
	"golang.org/x/tools/txtar"
)

// A TarEntry is one entry of a tar archive; Type 0 is a regular file.
type TarEntry struct {
	Name, Body, Linkname string
	Type                 byte
	PAX                  map[string]string // extra PAX records
	Size                 int64             // the header's size, when not len(Body)
}

// Tar builds a tar archive in the PAX format. An entry whose Size claims
// more than its Body ends the archive there, truncated.
func Tar(t testing.TB, entries ...TarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Linkname, Mode: 0o644, ModTime: time.Unix(499162500, 0),
			Format: tar.FormatPAX, PAXRecords: e.PAX}
		switch typ {
		case tar.TypeXGlobalHeader:
			hdr = &tar.Header{Typeflag: typ, PAXRecords: e.PAX}
		case tar.TypeDir:
			hdr.Mode = 0o755
		case tar.TypeReg:
			hdr.Size = int64(len(e.Body))
		}
		if e.Size != 0 {
			hdr.Size = e.Size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ != tar.TypeReg {
			continue
		}
		if e.Size > int64(len(e.Body)) {
			return b.Bytes() // a header that claims more than the archive holds
		}
		if _, err := io.WriteString(tw, e.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Gzip compresses b.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TarGz builds a gzip-compressed tar archive.
func TarGz(t testing.TB, entries ...TarEntry) []byte {
	t.Helper()
	return Gzip(t, Tar(t, entries...))
}

// A ZipEntry is one entry of a zip archive.
type ZipEntry struct {
	Name, Body string
	Store      bool   // stored instead of deflated
	Mode       uint32 // a Unix mode in the external attributes, if not 0
	// Method, when not 0, writes Body raw under that compression method
	// number (for methods Go cannot write).
	Method uint16
	// Raw, when not nil, writes Body raw with this header, sizes and CRC
	// as given (in the local header, as Python writes them).
	Raw *zip.FileHeader
}

// creatorUnix is the "version made by" host of Unix, whose external
// attributes hold a mode.
const creatorUnix = 3

// Zip builds a zip archive with archive/zip: deflated entries with data
// descriptors, as Go writes them, unless an entry says otherwise.
func Zip(t testing.TB, entries ...ZipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		var w io.Writer
		var err error
		switch h := (&zip.FileHeader{Name: e.Name, Method: zip.Deflate}); {
		case e.Raw != nil:
			w, err = zw.CreateRaw(e.Raw)
		case e.Method != 0:
			h.Method, h.CompressedSize64, h.UncompressedSize64 = e.Method, uint64(len(e.Body)), uint64(len(e.Body))
			w, err = zw.CreateRaw(withMode(h, e.Mode))
		default:
			if e.Store {
				h.Method = zip.Store
			}
			w, err = zw.CreateHeader(withMode(h, e.Mode))
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.Body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func withMode(h *zip.FileHeader, mode uint32) *zip.FileHeader {
	if mode != 0 {
		h.CreatorVersion = creatorUnix<<8 | 20
		h.ExternalAttrs = mode << 16
	}
	return h
}

// ModuleZip returns a valid Go module zip of the files (name → content),
// as the go command makes them (golang.org/x/mod/zip).
func ModuleZip(t testing.TB, mod, version string, files map[string]string) []byte {
	t.Helper()
	var fl []modzip.File
	for name, body := range files {
		fl = append(fl, memFile{name, []byte(body)})
	}
	var b bytes.Buffer
	if err := modzip.Create(&b, module.Version{Path: mod, Version: version}, fl); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// memFile is a file of a module zip held in memory.
type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (fs.FileInfo, error)  { return memInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo struct{ f memFile }

func (i memInfo) Name() string       { return path.Base(i.f.name) }
func (i memInfo) Size() int64        { return int64(len(i.f.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// A Fixture is a txtar test fixture: its header's key=value lines (such
// as wantErr=…) and its files.
type Fixture struct {
	Header map[string]string
	Files  []txtar.File
}

// RunFixtures runs fn on every txtar file the glob matches, each in a
// subtest named after the file, and fails the test when there is none.
func RunFixtures(t *testing.T, glob string, fn func(t *testing.T, f Fixture)) {
	paths, err := filepath.Glob(glob)
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures %s: %v", glob, err)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			a, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f := Fixture{Header: map[string]string{}, Files: a.Files}
			for _, line := range strings.Split(string(a.Comment), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
					f.Header[k] = v
				}
			}
			fn(t, f)
		})
	}
}

var escapes = regexp.MustCompile(`\\u[0-9a-f]{4}|\\n`)

// fixtureName turns a txtar file name into an entry name: \uXXXX and \n
// are unescaped, and LONG becomes 1100 x's.
func fixtureName(name string) string {
	name = escapes.ReplaceAllStringFunc(name, func(s string) string {
		u, _ := strconv.Unquote(`"` + s + `"`)
		return u
	})
	return strings.ReplaceAll(name, "LONG", strings.Repeat("x", 1100))
}

// FixtureTar builds a tar archive of a fixture's files. A file name may
// start with an entry type (dir, symlink, hardlink, char, block, fifo) and
// end with "-> target" for links; \uXXXX and \n in names are unescaped,
// and LONG becomes 1100 x's.
func FixtureTar(t testing.TB, files []txtar.File) []byte {
	t.Helper()
	var entries []TarEntry
	types := map[string]byte{"dir": tar.TypeDir, "symlink": tar.TypeSymlink, "hardlink": tar.TypeLink,
		"char": tar.TypeChar, "block": tar.TypeBlock, "fifo": tar.TypeFifo}
	for _, f := range files {
		e := TarEntry{Name: fixtureName(f.Name), Body: string(f.Data)}
		if kind, rest, ok := strings.Cut(e.Name, " "); ok && types[kind] != 0 {
			e.Type, e.Name, e.Body = types[kind], rest, ""
		}
		if name, link, ok := strings.Cut(e.Name, " -> "); ok {
			e.Name, e.Linkname = name, link
		}
		entries = append(entries, e)
	}
	return Tar(t, entries...)
}
