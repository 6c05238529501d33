package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

// fuzzLimits are small, so that the fuzzer reaches them.
var fuzzLimits = Limits{Entries: 50, FileSize: 1 << 20, Unpacked: 2 << 20, Ratio: 100, RatioFloor: 64 << 10, NameLen: 200}

// clientError fails unless err is one of the client's categories.
func clientError(t *testing.T, err error) {
	if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
		t.Fatalf("error %v is neither ErrInvalid nor ErrTooLarge", err)
	}
}

// FuzzTar checks that whatever WalkTarGz accepts, archive/tar reads the
// same entries with the same bytes, and that every name is safe.
func FuzzTar(f *testing.F) {
	f.Add(makeTgz(f, tarEntry{Name: "p/", Type: tar.TypeDir}, tarEntry{Name: "p/a.js", Body: "x"}, tarEntry{Name: "p/b/c", Body: "yy"}))
	f.Add(makeTgz(f, tarEntry{Name: "p/l", Type: tar.TypeSymlink, Linkname: "../x"}))
	f.Add(makeTgz(f, tarEntry{Name: "p/A"}, tarEntry{Name: "p/a"}))
	f.Add(gzipBytes(f, paxTar(f, "p/s", "x", "comment=hi")))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		walk := func(fn WalkFunc) error { return WalkTarGz(bytes.NewReader(b), fuzzLimits, fn) }
		sameAsStd(t, "WalkTarGz", walk, "archive/tar", func() ([]string, error) { return stdTar(b) })
	})
}

// sameAsStd fails unless whatever walk accepts, the standard library
// (std) reads with the same names and bytes.
func sameAsStd(t *testing.T, name string, walk func(WalkFunc) error, stdName string, std func() ([]string, error)) {
	t.Helper()
	var got []string
	err := walk(func(e Entry, r io.Reader) error {
		data, err := io.ReadAll(r)
		got = append(got, fmt.Sprintf("%s %v %q", e.Name, e.Dir, data))
		return err
	})
	if err != nil {
		clientError(t, err)
		return
	}
	want, err := std()
	if err != nil {
		t.Fatalf("%s accepted what %s refuses: %v", name, stdName, err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s read\n%s\n%s reads\n%s", name, strings.Join(got, "\n"), stdName, strings.Join(want, "\n"))
	}
}

// stdTar lists a .tar.gz's entries as archive/tar reads them.
func stdTar(b []byte) ([]string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	var out []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			return nil, err
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if CheckName(h.Name, fuzzLimits.NameLen) != nil || (h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeDir && h.Typeflag != tar.TypeCont) {
			return nil, fmt.Errorf("entry %q of type %q was handed out", h.Name, h.Typeflag)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s %v %q", strings.TrimSuffix(h.Name, "/"), h.Typeflag == tar.TypeDir, data))
	}
}

// FuzzZip checks that whatever OpenZip and Walk accept, archive/zip reads
// the same entries with the same bytes.
func FuzzZip(f *testing.F) {
	f.Add(makeZip(f, zipEntry{Name: "a/"}, zipEntry{Name: "a/b.txt", Body: "hello hello"}, stored("c", "c")))
	f.Add(makeZip(f, zipEntry{Name: "l", Mode: 0o120777}, stored("../x", "x")))
	f.Add(append([]byte("prefix"), makeZip(f, stored("a", "a"))...))
	f.Add(makeZip(f, stored("caf\u00e9", "x"), zipEntry{Name: "z", Body: string(make([]byte, 100<<10))}))
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := OpenZip(bytes.NewReader(b), int64(len(b)), fuzzLimits)
		if err != nil {
			clientError(t, err)
			return
		}
		sameAsStd(t, "OpenZip", z.Walk, "archive/zip", func() ([]string, error) { return stdZip(b) })
	})
}

// stdZip lists a zip archive's entries as archive/zip reads them.
func stdZip(b []byte) ([]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, err
	}
	var out []string
	for _, f := range zr.File {
		if CheckName(f.Name, fuzzLimits.NameLen) != nil || f.Mode().Type()&^(1<<31) != 0 {
			return nil, fmt.Errorf("entry %q of mode %v was handed out", f.Name, f.Mode())
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s %v %q", strings.TrimSuffix(f.Name, "/"), f.FileInfo().IsDir(), data))
	}
	return out, nil
}
