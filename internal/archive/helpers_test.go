package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/archive/archivetest"
)

// The archive builders, shared with the adapters' tests.
type (
	tarEntry = archivetest.TarEntry
	zipEntry = archivetest.ZipEntry
)

var (
	makeTar   = archivetest.Tar
	gzipBytes = archivetest.Gzip
	makeTgz   = archivetest.TarGz
	makeZip   = archivetest.Zip
)

// stored returns a raw stored entry with its CRC and sizes in the local
// header and no data descriptor.
func stored(name, body string) zipEntry {
	h := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc(body),
		CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(body))}
	if strings.ContainsFunc(name, func(r rune) bool { return r >= 0x80 }) {
		h.Flags |= 0x800 // as Python and Go mark UTF-8 names
	}
	return zipEntry{Body: body, Raw: h}
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
	b := makeTar(t, tarEntry{Name: "PaxHeaders/x", Body: pax.String()}, tarEntry{Name: name, Body: body})
	b[156] = tar.TypeXHeader
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}
