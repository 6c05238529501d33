package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/trove"
)

// walkAll walks a .tar.gz and returns its entries.
func walkAll(b []byte, lim Limits) ([]Entry, error) {
	var got []Entry
	err := WalkTarGz(bytes.NewReader(b), lim, func(e Entry, r io.Reader) error {
		got = append(got, e)
		_, err := io.Copy(io.Discard, r)
		return err
	})
	return got, err
}

// wantErr checks that err contains want and is of the category kind.
func wantErr(t *testing.T, err error, want string, kind error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, kind) {
		t.Fatalf("error = %v, want %v containing %q", err, kind, want)
	}
}

// TestTarFixtures runs testdata/tar: each archive with the error it must
// get (every one is ErrInvalid), or the number of files it holds.
func TestTarFixtures(t *testing.T) {
	archivetest.RunFixtures(t, "testdata/tar/*.txtar", func(t *testing.T, a archivetest.Fixture) {
		h := a.Header
		b := archivetest.FixtureTar(t, a.Files)
		if h["gzip"] != "false" {
			b = gzipBytes(t, b)
		}
		got, err := walkAll(b, DefaultLimits())
		if want := h["wantErr"]; want != "" {
			wantErr(t, err, want, trove.ErrInvalid)
			return
		}
		if err != nil {
			t.Fatalf("WalkTarGz: %v", err)
		}
		files := 0
		for _, e := range got {
			if !e.Dir {
				files++
			}
		}
		if want := h["files"]; strconv.Itoa(files) != want {
			t.Errorf("WalkTarGz handed out %d files (%v), want %s", files, got, want)
		}
	})
}

func TestTarLimits(t *testing.T) {
	small := Limits{Entries: 5, FileSize: 1000, Unpacked: 2000, Ratio: 100, RatioFloor: 1 << 20, NameLen: 100}
	var many, threeBig, headers []tarEntry
	for i := range 6 {
		many = append(many, tarEntry{Name: fmt.Sprintf("p/f%d.js", i)})
	}
	for i := range 3 {
		threeBig = append(threeBig, tarEntry{Name: fmt.Sprintf("p/big%d", i), Body: strings.Repeat("x", 900)})
	}
	for i := range 300 { // empty files: all headers, no content
		headers = append(headers, tarEntry{Name: fmt.Sprintf("p/empty%d", i), PAX: map[string]string{"comment": strings.Repeat("c", 8000)}})
	}
	zeros := tarEntry{Name: "p/zeros", Body: string(make([]byte, 20<<20))}
	for _, tc := range []struct {
		name string
		tgz  []byte
		lim  Limits
		want string
	}{
		{"too many entries", makeTgz(t, many...), small, "more than 5 entries"},
		{"file size", makeTgz(t, tarEntry{Name: "p/big", Body: strings.Repeat("x", 1001)}), small, `entry "p/big" is larger than 1000 bytes`},
		{"declared file size", makeTgz(t, tarEntry{Name: "p/huge", Size: 1 << 40}), DefaultLimits(), `entry "p/huge" is larger than`},
		{"bomb by total size", makeTgz(t, threeBig...), small, "files add up to more than 2000 bytes"},
		{"bomb by ratio", makeTgz(t, zeros), DefaultLimits(), "compression ratio above 200:1, refused as a compression bomb"},
		{"headers", makeTgz(t, headers...), Limits{Entries: 300, FileSize: 1, Unpacked: 1, Ratio: 1 << 20, RatioFloor: 1 << 40, NameLen: 100}, "decompresses to more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walkAll(tc.tgz, tc.lim)
			wantErr(t, err, tc.want, trove.ErrTooLarge)
		})
	}
}

// TestTarStream checks what lies around the entries: the gzip stream and
// what follows the end of the archive.
func TestTarStream(t *testing.T) {
	tarb := makeTar(t, tarEntry{Name: "p/a.js", Body: strings.Repeat("console.log(1)\n", 500)})
	good := gzipBytes(t, tarb)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-6] ^= 0xff // the CRC-32 in the gzip trailer
	second := gzipBytes(t, append(bytes.Clone(tarb), makeTar(t, tarEntry{Name: "p/evil.js", Body: "evil"})...))
	garbage := append(bytes.Clone(good), "trailing"...)
	bomb := gzipBytes(t, append(bytes.Clone(tarb), make([]byte, 20<<20)...))
	for _, tc := range []struct {
		name string
		b    []byte
		want string
		kind error
	}{
		{"empty", nil, "not a gzip-compressed tar archive (the data is not gzip-compressed", trove.ErrInvalid},
		{"not gzip", tarb, "not gzip-compressed", trove.ErrInvalid},
		{"truncated gzip", good[:len(good)/2], "broken gzip stream", trove.ErrInvalid},
		{"gzip checksum", corrupt, "broken gzip stream", trove.ErrInvalid},
		{"garbage after the gzip stream", garbage, "broken gzip stream", trove.ErrInvalid},
		{"not a tar", gzipBytes(t, bytes.Repeat([]byte("not a tar archive "), 100)), "not a valid tar archive", trove.ErrInvalid},
		{"second archive after the end", second, "data after the end of the tar archive", trove.ErrInvalid},
		{"bomb after the end", bomb, "compression bomb", trove.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walkAll(tc.b, DefaultLimits())
			wantErr(t, err, tc.want, tc.kind)
		})
	}
	padded := gzipBytes(t, append(bytes.Clone(tarb), make([]byte, 10240)...)) // tar pads to its record size
	if _, err := walkAll(padded, DefaultLimits()); err != nil {
		t.Errorf("an archive padded with zeros: %v", err)
	}
}

// TestTarHeaders refuses headers that tar readers interpret differently.
func TestTarHeaders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"global path", []tarEntry{{Name: "g", Type: tar.TypeXGlobalHeader, PAX: map[string]string{"path": "evil"}}, {Name: "p/a"}}, `PAX global header sets "path"`},
		{"global size", []tarEntry{{Name: "g", Type: tar.TypeXGlobalHeader, PAX: map[string]string{"size": "0"}}, {Name: "p/a"}}, `sets "size"`},
		{"directory with data", []tarEntry{{Name: "p/d/", Type: tar.TypeDir, Size: 512}}, "directory with 512 bytes"},
		{"volume label", []tarEntry{{Name: "p/v", Type: 'V'}}, "unsupported tar type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walkAll(makeTgz(t, tc.entries...), DefaultLimits())
			wantErr(t, err, tc.want, trove.ErrInvalid)
		})
	}
	sparse := gzipBytes(t, paxTar(t, "p/s", "0\n"+strings.Repeat("\x00", 510), "GNU.sparse.major=1", "GNU.sparse.minor=0", "GNU.sparse.name=p/s", "GNU.sparse.realsize=1"))
	_, err := walkAll(sparse, DefaultLimits())
	wantErr(t, err, `entry "p/s" is a sparse file`, trove.ErrInvalid)
	if _, err := walkAll(gzipBytes(t, paxTar(t, "p/s", "x", "comment=hi")), DefaultLimits()); err != nil {
		t.Errorf("a hand-written PAX header: %v", err)
	}
	git := makeTgz(t, tarEntry{Name: "pax_global_header", Type: tar.TypeXGlobalHeader, PAX: map[string]string{"comment": "0123abcd"}}, tarEntry{Name: "p/a", Body: "a"})
	if got, err := walkAll(git, DefaultLimits()); err != nil || len(got) != 1 || got[0].Name != "p/a" {
		t.Errorf("a git archive with its comment global header: %v, %v", got, err)
	}
}

// TestTarEntries checks what a walk hands out: names without a trailing
// slash, sizes, and each file's bytes.
func TestTarEntries(t *testing.T) {
	tgz := makeTgz(t, tarEntry{Name: "p/", Type: tar.TypeDir}, tarEntry{Name: "p/a.txt", Body: "hello"}, tarEntry{Name: "p/b/c", Body: ""})
	var got []string
	err := WalkTarGz(bytes.NewReader(tgz), DefaultLimits(), func(e Entry, r io.Reader) error {
		b, err := io.ReadAll(r)
		got = append(got, fmt.Sprintf("%s dir=%v size=%d %q", e.Name, e.Dir, e.Size, b))
		return err
	})
	want := []string{`p dir=true size=0 ""`, `p/a.txt dir=false size=5 "hello"`, `p/b/c dir=false size=0 ""`}
	if err != nil || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("WalkTarGz = %q, %v; want %q", got, err, want)
	}
	stop := errors.New("stop")
	if err := WalkTarGz(bytes.NewReader(tgz), DefaultLimits(), func(Entry, io.Reader) error { return stop }); err != stop {
		t.Errorf("WalkTarGz returned %v, want the WalkFunc's error", err)
	}
	plain := makeTar(t, tarEntry{Name: "data.tar.gz", Body: string(tgz)}, tarEntry{Name: "metadata.gz", Body: "m"})
	var names []string
	err = WalkTar(bytes.NewReader(plain), DefaultLimits(), func(e Entry, r io.Reader) error {
		names = append(names, e.Name)
		if e.Name == "data.tar.gz" { // a .gem's inner archive
			return WalkTarGz(r, DefaultLimits(), func(e Entry, _ io.Reader) error { names = append(names, "  "+e.Name); return nil })
		}
		return nil
	})
	if err != nil || strings.Join(names, ",") != "data.tar.gz,  p,  p/a.txt,  p/b/c,metadata.gz" {
		t.Errorf("WalkTar = %q, %v", names, err)
	}
}

// TestTarSourceError returns errors reading the source as they are: they
// are not the client's.
func TestTarSourceError(t *testing.T) {
	boom := errors.New("disk on fire")
	tgz := makeTgz(t, tarEntry{Name: "p/a", Body: strings.Repeat("a", 100000)})
	r := io.MultiReader(bytes.NewReader(tgz[:len(tgz)/2]), iotestErr{boom})
	if _, err := walkAll(nil, DefaultLimits()); err == nil {
		t.Fatal("empty input accepted")
	}
	err := WalkTarGz(r, DefaultLimits(), func(_ Entry, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
	if !errors.Is(err, boom) || errors.Is(err, trove.ErrInvalid) {
		t.Errorf("WalkTarGz over a failing reader = %v, want %v uncategorized", err, boom)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }
