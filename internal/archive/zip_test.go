package archive

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/trove"
)

// readZip opens b with lim and reads every entry.
func readZip(b []byte, lim Limits) (*Zip, error) {
	z, err := OpenZip(bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		return nil, err
	}
	return z, z.Walk(func(e Entry, r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
}

// TestZipAmbiguous refuses zip archives that two readers could read
// differently; archive/zip reads every one of them without complaint.
func TestZipAmbiguous(t *testing.T) {
	two := func() []byte { return makeZip(t, stored("a.txt", "hello"), stored("b.txt", "world")) }
	second := makeZip(t, zipEntry{Name: "evil.txt", Body: "evil"})
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"prepended data", append([]byte("#!/bin/sh\nexit 0\n"), two()...), "data before the zip archive's first entry or between its central directory and its end record"},
		{"appended data", append(two(), "trailing"...), "data after the end of the zip archive"},
		{"two concatenated archives", append(two(), second...), "data before the zip archive's first entry or between its central directory and its end record"},
		{"second archive with its offsets moved", shifted(t, two(), second), "data before the zip archive's first entry"},
		{"local header names another file", patch(two(), 30, "X"), `entry "a.txt": its local header names "X.txt"`},
		{"local header size differs", patch(two(), 22, "\x04"), `entry "a.txt": its local header and the central directory disagree on its size`},
		{"local header CRC differs", patch(two(), 14, "\x00\x00"), "disagree on its CRC-32"},
		{"local header method differs", patch(two(), 8, "\x08"), "disagree on its compression method"},
		{"overlapping entries", overlapping(t), `entry "b" overlaps an earlier entry or is out of order (the central directory puts it at offset 0)`},
		{"out-of-order entries", swapped(t, two()), `entry "a.txt" overlaps an earlier entry or is out of order`},
		{"data between entries", gapped(t), `6 bytes of data after entry "a.txt" that no entry accounts for`},
		{"data descriptor lies", lyingDescriptor(t), "its data descriptor is missing or disagrees"},
		{"end record in the comment", withComment(t, two(), "PK\x05\x06"+strings.Repeat("\x00", 18)), "data before the zip archive's first entry or between its central directory and its end record"},
		{"end record in the comment, not at the end", withComment(t, two(), "PK\x05\x06"+strings.Repeat("\x00", 19)), "data after the end of the zip archive (appended data, or an end record inside the comment)"},
		{"case-insensitive duplicate", makeZip(t, stored("pkg/README.md", "a"), stored("pkg/readme.md", "b")), `entry "pkg/readme.md" appears more than once: it collides with "pkg/README.md" (a case-insensitive file name collision`},
		{"NFC duplicate", makeZip(t, stored("pkg/caf\u00e9.py", "a"), stored("pkg/cafe\u0301.py", "b")), "case-insensitive file name collision"},
		{"exact duplicate", makeZip(t, stored("a", "1"), stored("a", "2")), `entry "a" appears more than once`},
		{"file and directory", makeZip(t, stored("a", "1"), zipEntry{Name: "a/"}), `entry "a" appears more than once`},
		{"file used as a directory", makeZip(t, stored("a", "1"), stored("a/b", "2")), `entry "a/b" is inside "a", which is a file`},
		{"name without the UTF-8 flag", patchFlags(t, makeZip(t, stored("caf\u00e9", "x")), 0), "not ASCII without the UTF-8 flag"},
		{"Unicode Path extra field", unicodePath(t, "a.txt", "evil.txt"), `has a Unicode Path extra field naming "evil.txt"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if zr, err := zip.NewReader(bytes.NewReader(tc.b), int64(len(tc.b))); err != nil || len(zr.File) == 0 {
				t.Logf("archive/zip refuses it too: %v", err)
			}
			_, err := readZip(tc.b, DefaultLimits())
			wantErr(t, err, tc.want, trove.ErrInvalid)
		})
	}
}

// patch returns b with s written at off.
func patch(b []byte, off int, s string) []byte {
	b = bytes.Clone(b)
	copy(b[off:], s)
	return b
}

// shifted returns first followed by second, whose offsets are moved to
// where it now lies (zip -A), so that a reader finds its entries.
func shifted(t *testing.T, first, second []byte) []byte {
	var b bytes.Buffer
	b.Write(first)
	zw := zip.NewWriter(&b)
	zw.SetOffset(int64(len(first)))
	w, _ := zw.Create("evil.txt")
	io.WriteString(w, "evil")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// overlapping returns an archive of two central directory records, "a"
// and "b", for the same local entry: the trick of non-recursive bombs.
func overlapping(t *testing.T) []byte {
	b := makeZip(t, stored("a", strings.Repeat("a", 1000)))
	cd := index(t, b, "PK\x01\x02", 0)
	end := index(t, b, "PK\x05\x06", 0)
	rec := bytes.Clone(b[cd:end])
	rec[46] = 'b'
	out := append(bytes.Clone(b[:end]), rec...)
	eocd := bytes.Clone(b[end:])
	binary.LittleEndian.PutUint16(eocd[8:], 2)
	binary.LittleEndian.PutUint16(eocd[10:], 2)
	binary.LittleEndian.PutUint32(eocd[12:], uint32(2*len(rec)))
	return append(out, eocd...)
}

// swapped returns a two-entry archive whose central directory lists the
// entries in the other order.
func swapped(t *testing.T, b []byte) []byte {
	cd := index(t, b, "PK\x01\x02", 0)
	cd2 := index(t, b, "PK\x01\x02", 1)
	end := index(t, b, "PK\x05\x06", 0)
	out := append(bytes.Clone(b[:cd]), b[cd2:end]...)
	out = append(out, b[cd:cd2]...)
	return append(out, b[end:]...)
}

// gapped returns an archive with bytes between its two entries that the
// central directory skips.
func gapped(t *testing.T) []byte {
	out := makeZip(t, stored("a.txt", "hello"), stored("b.txt", "world"))
	second := index(t, out, "PK\x03\x04", 1)
	res := append(bytes.Clone(out[:second]), "hidden"...)
	res = append(res, out[second:]...)
	cd := index(t, res, "PK\x01\x02", 1) // the second record
	binary.LittleEndian.PutUint32(res[cd+42:], binary.LittleEndian.Uint32(res[cd+42:])+6)
	end := index(t, res, "PK\x05\x06", 0)
	binary.LittleEndian.PutUint32(res[end+16:], binary.LittleEndian.Uint32(res[end+16:])+6)
	return res
}

// lyingDescriptor returns an archive as Go writes it (data descriptors)
// whose descriptor gives another size than the central directory.
func lyingDescriptor(t *testing.T) []byte {
	b := makeZip(t, zipEntry{Name: "a.txt", Body: "hello hello hello"}, zipEntry{Name: "b.txt", Body: "x"})
	dd := index(t, b, "PK\x07\x08", 0)
	binary.LittleEndian.PutUint32(b[dd+12:], 99)
	return b
}

// withComment returns b with an archive comment.
func withComment(t *testing.T, b []byte, comment string) []byte {
	end := index(t, b, "PK\x05\x06", 0)
	out := bytes.Clone(b)
	binary.LittleEndian.PutUint16(out[end+20:], uint16(len(comment)))
	return append(out, comment...)
}

// patchFlags sets the general purpose flags of the first entry, in its
// local header and its central directory record.
func patchFlags(t *testing.T, b []byte, flags uint16) []byte {
	b = bytes.Clone(b)
	binary.LittleEndian.PutUint16(b[6:], flags)
	binary.LittleEndian.PutUint16(b[index(t, b, "PK\x01\x02", 0)+8:], flags)
	return b
}

// unicodePath returns an archive of one entry whose Info-ZIP Unicode Path
// extra field names another file.
func unicodePath(t *testing.T, name, other string) []byte {
	e := stored(name, "x")
	extra := binary.LittleEndian.AppendUint16(nil, unicodePathID)
	extra = binary.LittleEndian.AppendUint16(extra, uint16(5+len(other)))
	extra = append(extra, 1)
	extra = binary.LittleEndian.AppendUint32(extra, crc(name))
	e.Raw.Extra = append(extra, other...)
	return makeZip(t, e)
}

func TestZipEntries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []zipEntry
		want    string
	}{
		{"traversal", []zipEntry{stored("../evil.py", "")}, `entry "../evil.py" contains ".."`},
		{"absolute", []zipEntry{stored("/etc/cron.d/evil", "")}, "absolute path"},
		{"drive letter", []zipEntry{stored("C:/evil.py", "")}, "drive letter"},
		{"backslash", []zipEntry{stored(`..\evil.py`, "")}, "backslash"},
		{"symlink", []zipEntry{{Name: "demo/link", Body: "/etc/passwd", Mode: 0o120777}}, `entry "demo/link" is a symbolic link`},
		{"device", []zipEntry{{Name: "demo/dev", Mode: 0o020644}}, "device, FIFO or socket"},
		{"fifo", []zipEntry{{Name: "demo/fifo", Mode: 0o010644}}, "device, FIFO or socket"},
		{"directory mode without slash", []zipEntry{{Name: "demo/d", Mode: 0o040755}}, "disagree on whether it is a directory"},
		{"bzip2", []zipEntry{{Body: "x", Raw: &zip.FileHeader{Name: "a", Method: 12, CompressedSize64: 1, UncompressedSize64: 1}}}, "compression method 12"},
		{"encrypted", []zipEntry{{Body: "x", Raw: &zip.FileHeader{Name: "a", Flags: 1, CompressedSize64: 1, UncompressedSize64: 1, CRC32: crc("x")}}}, `entry "a" is encrypted`},
		{"stored sizes differ", []zipEntry{{Body: "x", Raw: &zip.FileHeader{Name: "a", CompressedSize64: 1, UncompressedSize64: 2, CRC32: crc("x")}}}, "packed and unpacked sizes differ"},
		{"corrupt data", []zipEntry{{Body: "x", Raw: &zip.FileHeader{Name: "a", CompressedSize64: 1, UncompressedSize64: 1, CRC32: 7}}}, `entry "a" is corrupt`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readZip(makeZip(t, tc.entries...), DefaultLimits())
			wantErr(t, err, tc.want, trove.ErrInvalid)
		})
	}
	dirWithData := makeZip(t, stored("d_", "data"))
	dirWithData[30+1] = '/'
	dirWithData[index(t, dirWithData, "PK\x01\x02", 0)+46+1] = '/'
	_, err := readZip(dirWithData, DefaultLimits())
	wantErr(t, err, `entry "d/" is a directory with data`, trove.ErrInvalid)
}

func TestZipLimits(t *testing.T) {
	small := Limits{Entries: 5, FileSize: 1000, Unpacked: 2000, Ratio: 100, RatioFloor: 1 << 20, NameLen: 100}
	var many, threeBig, spread []zipEntry
	for i := range 6 {
		many = append(many, stored(fmt.Sprintf("f%d", i), ""))
	}
	for i := range 3 {
		threeBig = append(threeBig, stored(fmt.Sprintf("big%d", i), strings.Repeat("x", 900)))
	}
	for i := range 8 { // each under the floor, together far above it
		spread = append(spread, zipEntry{Name: fmt.Sprintf("z%d", i), Body: string(make([]byte, 512<<10))})
	}
	huge := zipEntry{Body: "x", Raw: &zip.FileHeader{Name: "huge", Method: zip.Deflate, CompressedSize64: 1, UncompressedSize64: 5 << 30}}
	for _, tc := range []struct {
		name string
		b    []byte
		lim  Limits
		want string
	}{
		{"too many entries", makeZip(t, many...), small, "more than 5 entries"},
		{"entry count before the directory", countOnly(t, 100_001), DefaultLimits(), "more than 100000 entries"},
		{"file size", makeZip(t, stored("big", strings.Repeat("x", 1001))), small, `entry "big" is larger than 1000 bytes`},
		{"zip64 size", makeZip(t, huge), DefaultLimits(), `entry "huge" is larger than 4294967296 bytes`},
		{"bomb by total size", makeZip(t, threeBig...), small, "files add up to more than 2000 bytes"},
		{"bomb by ratio", makeZip(t, zipEntry{Name: "zeros", Body: string(make([]byte, 20<<20))}), DefaultLimits(), `entry "zeros" unpacks to 20971520 bytes or more from`},
		{"bomb by the archive's ratio", makeZip(t, spread...), Limits{Entries: 10, FileSize: 1 << 30, Unpacked: 1 << 30, Ratio: 100, RatioFloor: 1 << 20, NameLen: 100}, "the archive unpacks to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readZip(tc.b, tc.lim)
			wantErr(t, err, tc.want, trove.ErrTooLarge)
		})
	}
}

// countOnly returns an empty archive whose end record claims n entries.
func countOnly(t *testing.T, n int) []byte {
	b := makeZip(t)
	binary.LittleEndian.PutUint16(b[8:], uint16(n))
	binary.LittleEndian.PutUint16(b[10:], uint16(n))
	if n > 0xffff {
		binary.LittleEndian.PutUint16(b[8:], 0xffff)
		binary.LittleEndian.PutUint16(b[10:], 0xffff)
		return zip64End(b, uint64(n))
	}
	return b
}

// zip64End puts zip64 end records claiming n entries before the end
// record b of an empty archive.
func zip64End(b []byte, n uint64) []byte {
	var rec []byte
	rec = binary.LittleEndian.AppendUint32(rec, sigEnd64)
	rec = binary.LittleEndian.AppendUint64(rec, end64Len-12)
	rec = binary.LittleEndian.AppendUint16(rec, 45)
	rec = binary.LittleEndian.AppendUint16(rec, 45)
	rec = binary.LittleEndian.AppendUint32(rec, 0)
	rec = binary.LittleEndian.AppendUint32(rec, 0)
	rec = binary.LittleEndian.AppendUint64(rec, n)
	rec = binary.LittleEndian.AppendUint64(rec, n)
	rec = binary.LittleEndian.AppendUint64(rec, 0)
	rec = binary.LittleEndian.AppendUint64(rec, 0)
	rec = binary.LittleEndian.AppendUint32(rec, sigLocator64)
	rec = binary.LittleEndian.AppendUint32(rec, 0)
	rec = binary.LittleEndian.AppendUint64(rec, 0)
	rec = binary.LittleEndian.AppendUint32(rec, 1)
	return append(rec, b...)
}

func TestZipReadable(t *testing.T) {
	var many []zipEntry
	for i := range 70_000 { // past 65535: zip64 end records
		many = append(many, zipEntry{Name: fmt.Sprintf("d/%d", i), Store: true})
	}
	for _, tc := range []struct {
		name    string
		entries []zipEntry
		n       int
	}{
		{"as Go writes it (data descriptors)", []zipEntry{{Name: "a/"}, {Name: "a/b.txt", Body: strings.Repeat("hello ", 100)}, {Name: "c", Store: true, Body: "c"}}, 3},
		{"as Python writes it (sizes in the local header)", []zipEntry{stored("a.txt", "hello"), stored("caf\u00e9.txt", "x")}, 2},
		{"Unix modes", []zipEntry{{Name: "x.sh", Mode: 0o100755, Body: "#!/bin/sh"}, {Name: "d/", Mode: 0o040755}}, 2},
		{"matching Unicode Path", nil, 1},
		{"zip64 end records", many, len(many)},
		{"empty", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := makeZip(t, tc.entries...)
			if tc.name == "matching Unicode Path" {
				b = unicodePath(t, "a.txt", "a.txt")
			}
			z, err := readZip(b, DefaultLimits())
			if err != nil {
				t.Fatalf("OpenZip: %v", err)
			}
			if len(z.Entries()) != tc.n {
				t.Errorf("OpenZip found %d entries, want %d", len(z.Entries()), tc.n)
			}
		})
	}
}

func TestZipReadFile(t *testing.T) {
	b := makeZip(t, zipEntry{Name: "d/"}, zipEntry{Name: "d/a.txt", Body: "hello"})
	z, err := OpenZip(bytes.NewReader(b), int64(len(b)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := z.ReadFile("d/a.txt", 5); err != nil || string(got) != "hello" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}
	_, err = z.ReadFile("d/a.txt", 4)
	wantErr(t, err, "d/a.txt is larger than 4 bytes", trove.ErrTooLarge)
	_, err = z.ReadFile("d", 4)
	wantErr(t, err, "the archive has no d", trove.ErrInvalid)
	if e, ok := z.Lookup("d"); !ok || !e.Dir {
		t.Errorf("Lookup(d) = %v, %v", e, ok)
	}
	if _, ok := z.Lookup("x"); ok {
		t.Error("Lookup(x) found it")
	}
}

// TestZipMalformed refuses what is not a zip archive, and returns errors
// reading the source as they are.
func TestZipMalformed(t *testing.T) {
	good := makeZip(t, stored("a", "hello"))
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"text", []byte("hello")},
		{"truncated", good[:len(good)/2]},
		{"no end record", good[:len(good)-1]},
	} {
		_, err := readZip(tc.b, DefaultLimits())
		if err == nil || !errors.Is(err, trove.ErrInvalid) {
			t.Errorf("%s: OpenZip = %v, want ErrInvalid", tc.name, err)
		}
	}
	_, err := readZip([]byte("not a zip at all, just text"), DefaultLimits())
	wantErr(t, err, "not a valid zip archive: it cannot be read", trove.ErrInvalid)
	boom := errors.New("disk on fire")
	_, err = OpenZip(failingAt{bytes.NewReader(good), boom}, int64(len(good)), DefaultLimits())
	if !errors.Is(err, boom) || errors.Is(err, trove.ErrInvalid) {
		t.Errorf("OpenZip over a failing reader = %v, want %v uncategorized", err, boom)
	}
}

type failingAt struct {
	r   io.ReaderAt
	err error
}

func (f failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off == 0 {
		return 0, f.err
	}
	return f.r.ReadAt(p, off)
}
