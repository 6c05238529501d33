package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
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

// A tarEntry is one entry to write; typ 0 is a regular file.
type tarEntry struct {
	name, body, link string
	typ              byte
	pax              map[string]string
	size             int64 // the header's size, when not len(body)
}

var escapes_ = regexp.MustCompile(`\\u[0-9a-f]{4}|\\n`)

// fixtureName turns a txtar file name into an entry name: \uXXXX and \n
// are unescaped, and LONG becomes 1100 x's.
func fixtureName(name string) string {
	name = escapes_.ReplaceAllStringFunc(name, func(s string) string {
		u, _ := strconv.Unquote(`"` + s + `"`)
		return u
	})
	return strings.ReplaceAll(name, "LONG", strings.Repeat("x", 1100))
}

// fixtureTar builds a tar archive from txtar files. A file name may start
// with an entry type (dir, symlink, hardlink, char, block, fifo) and end
// with "-> target" for links.
func fixtureTar(t testing.TB, files []txtar.File) []byte {
	var entries []tarEntry
	types := map[string]byte{"dir": tar.TypeDir, "symlink": tar.TypeSymlink, "hardlink": tar.TypeLink,
		"char": tar.TypeChar, "block": tar.TypeBlock, "fifo": tar.TypeFifo}
	for _, f := range files {
		e := tarEntry{name: fixtureName(f.Name), body: string(f.Data)}
		if kind, rest, ok := strings.Cut(e.name, " "); ok && types[kind] != 0 {
			e.typ, e.name, e.body = types[kind], rest, ""
		}
		if name, link, ok := strings.Cut(e.name, " -> "); ok {
			e.name, e.link = name, link
		}
		entries = append(entries, e)
	}
	return makeTar(t, entries...)
}

// makeTar builds a tar archive in the PAX format.
func makeTar(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o644, ModTime: time.Unix(499162500, 0),
			Format: tar.FormatPAX, PAXRecords: e.pax}
		if typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: typ, PAXRecords: e.pax}
		}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if e.size != 0 {
			hdr.Size = e.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.size > int64(len(e.body)) && typ == tar.TypeReg {
			return b.Bytes() // a header that claims more than the archive holds
		}
		if typ == tar.TypeReg {
			io.WriteString(tw, e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func makeTgz(t testing.TB, entries ...tarEntry) []byte {
	return gzipBytes(t, makeTar(t, entries...))
}

// A zipEntry is one entry to write with archive/zip.
type zipEntry struct {
	name, body string
	store      bool
	mode       uint32 // a Unix mode in the external attributes, if not 0
	raw        *zip.FileHeader
}

// makeZip builds a zip archive with archive/zip: deflated entries with
// data descriptors, as Go writes them; raw ones as given (with their sizes
// in the local header, as Python writes them).
func makeZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		if e.raw != nil {
			w, err := zw.CreateRaw(e.raw)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, e.body)
			continue
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.store {
			h.Method = zip.Store
		}
		if e.mode != 0 {
			h.CreatorVersion = creatorUnix<<8 | 20
			h.ExternalAttrs = e.mode << 16
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// stored returns a raw stored entry with its CRC and sizes in the local
// header and no data descriptor.
func stored(name, body string) zipEntry {
	h := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc(body),
		CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body))}
	if strings.ContainsFunc(name, func(r rune) bool { return r >= 0x80 }) {
		h.Flags |= 0x800 // as Python and Go mark UTF-8 names
	}
	return zipEntry{body: body, raw: h}
}

// index returns the offset of the n-th (from 0) occurrence of sig in b.
func index(t testing.TB, b []byte, sig string, n int) int {
	t.Helper()
	off := 0
	for i := 0; ; i++ {
		j := bytes.Index(b[off:], []byte(sig))
		if j < 0 {
			t.Fatalf("no %q number %d", sig, n)
		}
		if i == n {
			return off + j
		}
		off += j + 1
	}
}

func crc(s string) uint32 { return crc32.ChecksumIEEE([]byte(s)) }

// paxTar returns a ustar archive of one file whose PAX extended header,
// written by hand, holds records (archive/tar's writer drops some).
func paxTar(t testing.TB, name, body string, records ...string) []byte {
	var pax strings.Builder
	for _, r := range records {
		n := len(r) + 3
		for len(strconv.Itoa(n))+len(r)+2 != n {
			n++
		}
		fmt.Fprintf(&pax, "%d %s\n", n, r)
	}
	b := makeTar(t, tarEntry{name: "PaxHeaders/x", body: pax.String()}, tarEntry{name: name, body: body})
	b[156] = tar.TypeXHeader
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}
