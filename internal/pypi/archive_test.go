package pypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"
)

const testMetadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\nbody\n"

var demoWheel = distFile{Kind: kindWheel, Name: "demo", Version: "1.0", Ext: ".whl", Python: "py3", ABI: "none", Platform: "any"}

func TestReadWheel(t *testing.T) {
	const di = "demo-1.0.dist-info/"
	wheelFile := zipEntry{Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}
	md := zipEntry{Name: di + "METADATA", Body: testMetadata}
	zeros := strings.Repeat("\x00", BombFloor+1)
	for _, tc := range []struct {
		name    string
		entries []zipEntry
		wantErr string
	}{
		{"ok", []zipEntry{{Name: "demo/__init__.py"}, md, wheelFile}, ""},
		{"ok stored", []zipEntry{{Name: di + "METADATA", Body: testMetadata, Store: true}, wheelFile}, ""},
		{"ok directories", []zipEntry{{Name: "demo/"}, {Name: "demo/x.py"}, md, wheelFile}, ""},
		{"ok version spelled otherwise", []zipEntry{{Name: "demo-1.0.0.dist-info/METADATA", Body: testMetadata}, {Name: "demo-1.0.0.dist-info/WHEEL", Body: "Wheel-Version: 1.0\n"}}, ""},
		{"traversal", []zipEntry{{Name: "../evil.py"}, md, wheelFile}, `"../evil.py" contains ".."`},
		{"inner traversal", []zipEntry{{Name: "demo/../../evil.py"}, md, wheelFile}, `contains ".."`},
		{"absolute", []zipEntry{{Name: "/etc/cron.d/evil"}, md, wheelFile}, "absolute path"},
		{"backslash", []zipEntry{{Name: "..\\evil.py"}, md, wheelFile}, "backslash"},
		{"drive", []zipEntry{{Name: "C:/evil.py"}, md, wheelFile}, "drive letter"},
		{"dot", []zipEntry{{Name: "./demo/x.py"}, md, wheelFile}, `"." path component`},
		{"empty component", []zipEntry{{Name: "demo//x.py"}, md, wheelFile}, "empty"},
		{"control", []zipEntry{{Name: "demo/x\n.py"}, md, wheelFile}, "control character"},
		{"symlink", []zipEntry{{Name: "demo/link", Body: "/etc/passwd", Mode: 0o120777}, md, wheelFile}, "symbolic link"},
		{"device", []zipEntry{{Name: "demo/dev", Mode: 0o020644}, md, wheelFile}, "not a regular file"},
		{"fifo", []zipEntry{{Name: "demo/fifo", Mode: 0o010644}, md, wheelFile}, "not a regular file"},
		{"regular mode", []zipEntry{{Name: "demo/x.py", Mode: 0o100644}, md, wheelFile}, ""},
		{"duplicate", []zipEntry{{Name: "demo/x.py"}, {Name: "demo/x.py"}, md, wheelFile}, "appears more than once"},
		{"duplicate dir and file", []zipEntry{{Name: "demo/x"}, {Name: "demo/x/"}, md, wheelFile}, "appears more than once"},
		{"duplicate metadata", []zipEntry{md, md, wheelFile}, "appears more than once"},
		{"bzip2", []zipEntry{{Name: "demo/x.py", Method: 12}, md, wheelFile}, "compression method 12"},
		{"bomb", []zipEntry{{Name: "demo/zeros", Body: zeros}, md, wheelFile}, "compression bomb"},
		{"no dist-info", []zipEntry{{Name: "demo/__init__.py"}}, "no .dist-info directory"},
		{"two dist-info", []zipEntry{md, wheelFile, {Name: "other-1.0.dist-info/METADATA", Body: testMetadata}}, "2 .dist-info directories"},
		{"dist-info of another name", []zipEntry{{Name: "other-1.0.dist-info/METADATA", Body: testMetadata}, {Name: "other-1.0.dist-info/WHEEL", Body: "Wheel-Version: 1.0\n"}}, "does not match its filename"},
		{"dist-info of another version", []zipEntry{{Name: "demo-2.0.dist-info/METADATA", Body: testMetadata}}, "does not match its filename"},
		{"no METADATA", []zipEntry{wheelFile}, "no demo-1.0.dist-info/METADATA"},
		{"METADATA is a directory", []zipEntry{{Name: di + "METADATA/"}, wheelFile}, "no demo-1.0.dist-info/METADATA"},
		{"no WHEEL", []zipEntry{md}, "no demo-1.0.dist-info/WHEEL"},
		{"wheel 2", []zipEntry{md, {Name: di + "WHEEL", Body: "Wheel-Version: 2.0\n"}}, `Wheel-Version "2.0" is not supported`},
		{"huge METADATA", []zipEntry{{Name: di + "METADATA", Body: strings.Repeat("x", MaxMetadataBytes+1)}, wheelFile}, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := makeZip(t, tc.entries...)
			got, err := readWheel(bytes.NewReader(b), int64(len(b)), demoWheel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readWheel = %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readWheel: %v", err)
			}
			if string(got) != testMetadata {
				t.Errorf("readWheel = %q, want the METADATA %q", got, testMetadata)
			}
		})
	}
}

func TestReadWheelMalformed(t *testing.T) {
	good := makeWheel(t, "demo", "1.0", testMetadata)
	for _, tc := range []struct {
		name    string
		b       []byte
		wantErr string
	}{
		{"empty", nil, "not a valid zip archive"},
		{"text", []byte("hello"), "not a valid zip archive"},
		{"truncated", good[:len(good)/2], "not a valid zip archive"},
		// More central directory signatures than entries allowed: refused
		// before the zip reader loads a directory that large.
		{"too many entries", bytes.Repeat([]byte("PK\x01\x02"), MaxArchiveEntries+1), "more than 100000 entries"},
	} {
		_, err := readWheel(bytes.NewReader(tc.b), int64(len(tc.b)), demoWheel)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: readWheel = %v; want an error containing %q", tc.name, err, tc.wantErr)
		}
	}
}

// TestZipOverlap refuses a zip whose entries claim more compressed bytes
// than the file holds: overlapping entries, the trick of non-recursive
// zip bombs.
func TestZipOverlap(t *testing.T) {
	b := makeZip(t, zipEntry{Name: "a", Body: strings.Repeat("a", 1000), Store: true})
	// Duplicate the central directory entry under another name so that
	// both entries point at the same data.
	cd := bytes.Index(b, []byte("PK\x01\x02"))
	end := bytes.Index(b, []byte("PK\x05\x06"))
	entry := append([]byte(nil), b[cd:end]...)
	entry[46] = 'b' // the name
	var out []byte
	out = append(out, b[:end]...)
	out = append(out, entry...)
	eocd := append([]byte(nil), b[end:]...)
	eocd[8], eocd[10] = 2, 2                     // entries on disk, total entries
	eocd[12] = byte(len(b[cd:end]) + len(entry)) // directory size (small)
	eocd[13] = byte((len(b[cd:end]) + len(entry)) >> 8)
	out = append(out, eocd...)
	zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
	if err != nil || len(zr.File) != 2 {
		t.Fatalf("test archive: %v, %d entries", err, len(zr.File))
	}
	_, err = openZip(bytes.NewReader(out), int64(len(out)))
	if err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("openZip(overlapping) = %v, want an overlap error", err)
	}
}

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
		{"traversal", []tarEntry{pkgInfo, {Name: root + "../../evil.py"}}, `contains ".."`},
		{"absolute", []tarEntry{pkgInfo, {Name: "/etc/passwd"}}, "absolute path"},
		{"outside root", []tarEntry{pkgInfo, {Name: "other/x.py"}}, "outside the sdist's top-level directory demo-1.0/"},
		{"root prefix only", []tarEntry{pkgInfo, {Name: "demo-1.0x/x.py"}}, "outside"},
		{"symlink", []tarEntry{pkgInfo, {Name: root + "link", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}}, "symbolic link"},
		{"hard link", []tarEntry{pkgInfo, {Name: root + "link", Type: tar.TypeLink, Linkname: root + "PKG-INFO"}}, "hard link"},
		{"char device", []tarEntry{pkgInfo, {Name: root + "dev", Type: tar.TypeChar}}, "device"},
		{"block device", []tarEntry{pkgInfo, {Name: root + "dev", Type: tar.TypeBlock}}, "device"},
		{"fifo", []tarEntry{pkgInfo, {Name: root + "fifo", Type: tar.TypeFifo}}, "pipe"},
		{"duplicate", []tarEntry{pkgInfo, {Name: root + "a"}, {Name: root + "a"}}, "appears more than once"},
		{"duplicate PKG-INFO", []tarEntry{pkgInfo, pkgInfo}, "appears more than once"},
		{"no PKG-INFO", []tarEntry{{Name: root + "setup.py"}}, "no demo-1.0/PKG-INFO"},
		{"PKG-INFO elsewhere", []tarEntry{{Name: root + "src/PKG-INFO", Body: testMetadata}}, "no demo-1.0/PKG-INFO"},
		{"PKG-INFO directory", []tarEntry{{Name: root + "PKG-INFO/", Type: tar.TypeDir}}, "no demo-1.0/PKG-INFO"},
		{"huge PKG-INFO", []tarEntry{{Name: root + "PKG-INFO", Body: strings.Repeat("x", MaxMetadataBytes+1)}}, "larger than"},
		{"bomb", []tarEntry{pkgInfo, {Name: root + "zeros", Body: strings.Repeat("\x00", BombFloor+1<<20)}}, "compression bomb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := makeTarGz(t, tc.entries...)
			got, err := readSdist(bytes.NewReader(b), int64(len(b)), ".tar.gz", "demo-1.0")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readSdist = %v; want an error containing %q", err, tc.wantErr)
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

func TestReadSdistMalformed(t *testing.T) {
	var tooMany bytes.Buffer
	gz := gzip.NewWriter(&tooMany)
	tw := tar.NewWriter(gz)
	for i := 0; i <= MaxArchiveEntries; i++ {
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("demo-1.0/d%d/", i), Typeflag: tar.TypeDir})
	}
	tw.Close()
	gz.Close()
	var trailing bytes.Buffer
	gz = gzip.NewWriter(&trailing)
	tw = tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "demo-1.0/PKG-INFO", Size: int64(len(testMetadata)), Typeflag: tar.TypeReg})
	io.WriteString(tw, testMetadata)
	tw.Close()
	io.WriteString(gz, strings.Repeat("\x00", BombFloor+1<<20)) // hidden after the tar's end
	gz.Close()
	for _, tc := range []struct {
		name    string
		b       []byte
		wantErr string
	}{
		{"empty", nil, "not a gzip-compressed tar archive"},
		{"not gzip", []byte("PK\x03\x04 not a tar.gz"), "not a gzip-compressed tar archive"},
		{"gzip of garbage", gzipped([]byte(strings.Repeat("garbage!", 200))), "not a valid tar.gz archive"},
		{"truncated", makeSdist(t, "demo", "1.0", testMetadata)[:60], "not a valid tar.gz archive"},
		{"too many entries", tooMany.Bytes(), "more than 100000 entries"},
		{"bomb after the end", trailing.Bytes(), "compression bomb"},
	} {
		_, err := readSdist(bytes.NewReader(tc.b), int64(len(tc.b)), ".tar.gz", "demo-1.0")
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: readSdist = %v; want an error containing %q", tc.name, err, tc.wantErr)
		}
	}
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	gz := gzip.NewWriter(&out)
	gz.Write(b)
	gz.Close()
	return out.Bytes()
}

func FuzzReadWheel(f *testing.F) {
	f.Add(makeWheel(f, "demo", "1.0", testMetadata))
	f.Add(makeZip(f, zipEntry{Name: "demo-1.0.dist-info/METADATA", Body: testMetadata, Store: true},
		zipEntry{Name: "demo-1.0.dist-info/WHEEL", Body: "Wheel-Version: 1.0\n", Store: true}))
	f.Add(makeZip(f, zipEntry{Name: "../x", Body: "x"}, zipEntry{Name: "l", Mode: 0o120777}))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := readWheel(bytes.NewReader(b), int64(len(b)), demoWheel)
		if err != nil {
			return
		}
		if len(md) > MaxMetadataBytes {
			t.Fatalf("readWheel returned %d bytes of METADATA, more than MaxMetadataBytes", len(md))
		}
		// Whatever was accepted, Go's zip reader accepts too, with only
		// plain relative names.
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("readWheel accepted what zip.NewReader refuses: %v", err)
		}
		for _, f := range zr.File {
			if checkEntryName(f.Name) != nil || f.Mode().Type()&^fs.ModeDir != 0 {
				t.Fatalf("readWheel accepted entry %q with mode %v", f.Name, f.Mode())
			}
		}
	})
}

func FuzzReadSdist(f *testing.F) {
	f.Add(makeSdist(f, "demo", "1.0", testMetadata))
	f.Add(makeTarGz(f, tarEntry{Name: "demo-1.0/PKG-INFO", Body: testMetadata}, tarEntry{Name: "demo-1.0/l", Type: tar.TypeSymlink, Linkname: "/"}))
	f.Add(gzipped([]byte("not a tar")))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := readSdist(bytes.NewReader(b), int64(len(b)), ".tar.gz", "demo-1.0")
		if err != nil {
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
			if checkEntryName(h.Name) != nil || underRoot(h.Name, "demo-1.0") != nil || h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeDir {
				t.Fatalf("readSdist accepted entry %q of type %q", h.Name, h.Typeflag)
			}
		}
	})
}
