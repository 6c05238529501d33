package pypi

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/archive"
	"github.com/trove-dev/trove/internal/trove"
)

const testMetadata = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\nbody\n"

var demoWheel = distFile{Kind: kindWheel, Name: "demo", Version: "1.0", Ext: ".whl", Python: "py3", ABI: "none", Platform: "any"}

// wheelOf returns a zip of entries and a RECORD listing them in the one
// .dist-info directory among them, if there is exactly one.
func wheelOf(t testing.TB, entries ...zipEntry) []byte {
	dirs := map[string]bool{}
	for _, e := range entries {
		if top, _, _ := strings.Cut(e.Name, "/"); strings.HasSuffix(top, ".dist-info") {
			dirs[top] = true
		}
	}
	for d := range dirs {
		if len(dirs) == 1 {
			entries = append(entries, recordOf(d+"/RECORD", entries))
		}
	}
	return makeZip(t, entries...)
}

// TestReadWheel checks the wheel's own rules; the archive's are
// internal/archive's.
func TestReadWheel(t *testing.T) {
	const di = "demo-1.0.dist-info/"
	wheelFile := zipEntry{Name: di + "WHEEL", Body: "Wheel-Version: 1.0\n"}
	md := zipEntry{Name: di + "METADATA", Body: testMetadata}
	for _, tc := range []struct {
		name    string
		entries []zipEntry
		wantErr string
	}{
		{"ok", []zipEntry{{Name: "demo/__init__.py"}, md, wheelFile}, ""},
		{"ok stored", []zipEntry{{Name: di + "METADATA", Body: testMetadata, Store: true}, wheelFile}, ""},
		{"ok directories", []zipEntry{{Name: "demo/"}, {Name: "demo/x.py"}, md, wheelFile}, ""},
		{"ok version spelled otherwise", []zipEntry{{Name: "demo-1.0.0.dist-info/METADATA", Body: testMetadata}, {Name: "demo-1.0.0.dist-info/WHEEL", Body: "Wheel-Version: 1.0\n"}}, ""},
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
			b := wheelOf(t, tc.entries...)
			got, err := readWheel(bytes.NewReader(b), int64(len(b)), demoWheel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readWheel = %v; want an error containing %q", err, tc.wantErr)
				}
				if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
					t.Fatalf("readWheel error %v has no category", err)
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

// TestReadWheelArchive checks that internal/archive's errors reach the
// wheel reader with their category: a bomb is too large (413).
func TestReadWheelArchive(t *testing.T) {
	good := makeWheel(t, "demo", "1.0", testMetadata)
	bomb := makeWheel(t, "demo", "1.0", testMetadata, zipEntry{Name: "demo/zeros", Body: strings.Repeat("\x00", archive.RatioFloor+1)})
	for _, tc := range []struct {
		name string
		b    []byte
		kind error
		want string
	}{
		{"not a zip", []byte("hello"), trove.ErrInvalid, "not a valid zip archive"},
		{"prepended data", append([]byte("MZ"), good...), trove.ErrInvalid, "data before the zip archive's first entry"},
		{"symlink", makeWheel(t, "demo", "1.0", testMetadata, zipEntry{Name: "demo/l", Mode: 0o120777}), trove.ErrInvalid, "symbolic link"},
		{"bomb", bomb, trove.ErrTooLarge, "compression bomb"},
	} {
		_, err := readWheel(bytes.NewReader(tc.b), int64(len(tc.b)), demoWheel)
		if err == nil || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: readWheel = %v, want %v containing %q", tc.name, err, tc.kind, tc.want)
		}
	}
}

func FuzzReadWheel(f *testing.F) {
	f.Add(makeWheel(f, "demo", "1.0", testMetadata))
	f.Add(wheelOf(f, zipEntry{Name: "demo-1.0.dist-info/METADATA", Body: testMetadata, Store: true},
		zipEntry{Name: "demo-1.0.dist-info/WHEEL", Body: "Wheel-Version: 1.0\n", Store: true}))
	f.Add(makeZip(f, zipEntry{Name: "../x", Body: "x"}, zipEntry{Name: "l", Mode: 0o120777}))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := readWheel(bytes.NewReader(b), int64(len(b)), demoWheel)
		if err != nil {
			if !errors.Is(err, trove.ErrInvalid) && !errors.Is(err, trove.ErrTooLarge) {
				t.Fatalf("readWheel error %v has no category", err)
			}
			return
		}
		if len(md) > MaxMetadataBytes {
			t.Fatalf("readWheel returned %d bytes of METADATA, more than MaxMetadataBytes", len(md))
		}
		// Whatever was accepted, Go's zip reader accepts too, with only
		// plain relative names, each listed in RECORD.
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("readWheel accepted what zip.NewReader refuses: %v", err)
		}
		for _, f := range zr.File {
			if archive.CheckName(f.Name, archive.MaxNameLen) != nil || f.Mode().Type()&^(1<<31) != 0 {
				t.Fatalf("readWheel accepted entry %q with mode %v", f.Name, f.Mode())
			}
		}
	})
}
