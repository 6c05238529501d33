package pypi

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/txtar"
)

// readFixture reads a txtar fixture: a header of key=value lines (and #
// comments) and its files by name.
func readFixture(t *testing.T, path string) (map[string]string, map[string]string) {
	t.Helper()
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header := make(map[string]string)
	for _, line := range strings.Split(string(a.Comment), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: header line %q is not key=value", path, line)
		}
		header[k] = v
	}
	files := make(map[string]string)
	for _, f := range a.Files {
		files[f.Name] = string(f.Data)
	}
	return header, files
}

// TestParseMetadataFixtures runs testdata/metadata/*.txtar: a METADATA
// file and either wantErr or the fields expected from it.
func TestParseMetadataFixtures(t *testing.T) {
	paths, err := filepath.Glob("testdata/metadata/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			h, files := readFixture(t, path)
			src, ok := files["METADATA"]
			if !ok {
				t.Fatal("fixture has no METADATA file")
			}
			// txtar ends every file with a newline; a fixture without
			// any content means an empty file.
			md, err := parseMetadata([]byte(src))
			if want := h["wantErr"]; want != "" {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("parseMetadata = %v; want an error containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseMetadata: %v", err)
			}
			list := func(k string) []string {
				if h[k] == "" {
					return nil
				}
				return strings.Split(h[k], "|")
			}
			rm := md.release()
			got := map[string]any{
				"name": rm.Name, "version": rm.Version, "metadataVersion": rm.MetadataVersion,
				"requiresPython": rm.RequiresPython, "description": strings.TrimRight(rm.Description, "\n"),
				"classifiers": rm.Classifiers, "requiresDist": rm.RequiresDist, "projectURLs": rm.ProjectURLs,
			}
			want := map[string]any{
				"name": h["name"], "version": h["version"], "metadataVersion": h["metadataVersion"],
				"requiresPython": h["requiresPython"], "description": strings.TrimRight(files["description"], "\n"),
				"classifiers": list("classifiers"), "requiresDist": list("requiresDist"), "projectURLs": list("projectURLs"),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("parseMetadata mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseMetadataBytes(t *testing.T) {
	const head = "Metadata-Version: 2.1\nName: a\nVersion: 1\n"
	for _, tc := range []struct {
		name, src, wantErr, wantSummary, wantDescription string
	}{
		{name: "crlf", src: "Metadata-Version: 2.1\r\nName: a\r\nVersion: 1\r\nSummary: s\r\n\r\nbody\r\n", wantSummary: "s", wantDescription: "body\r\n"},
		{name: "no colon space", src: head + "Summary:tight\n", wantSummary: "tight"},
		{name: "trailing space", src: head + "Summary: s  \n", wantSummary: "s"},
		{name: "case-insensitive fields", src: "metadata-version: 2.1\nNAME: a\nversion: 1\n"},
		{name: "not utf-8", src: head + "Summary: \xff\n", wantErr: "not UTF-8"},
		{name: "nul", src: head + "Summary: a\x00b\n", wantErr: "NUL"},
		{name: "control", src: head + "Summary: a\x1bb\n", wantErr: "control character"},
		{name: "two summaries", src: head + "Summary: a\nSummary: b\n", wantErr: "Summary appears 2 times"},
		{name: "empty field name", src: head + ": value\n", wantErr: "is not a \"Field: value\" line"},
		{name: "space in field name", src: head + "Sum mary: x\n", wantErr: "is not a \"Field: value\" line"},
		{name: "specifiers", src: head + "Requires-Python: >=3.8, !=3.9.*, <4\n"},
		{name: "arbitrary equality", src: head + "Requires-Python: ===3.8-custom\n"},
		{name: "bad specifier", src: head + "Requires-Python: >=3.8,\n", wantErr: "Requires-Python"},
		{name: "wildcard on >=", src: head + "Requires-Python: >=3.*\n", wantErr: "Requires-Python"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := parseMetadata([]byte(tc.src))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseMetadata(%q) = %v; want an error containing %q", tc.src, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseMetadata(%q): %v", tc.src, err)
			}
			if got := md.get("summary"); got != tc.wantSummary {
				t.Errorf("Summary = %q, want %q", got, tc.wantSummary)
			}
			if md.Description != tc.wantDescription {
				t.Errorf("Description = %q, want %q", md.Description, tc.wantDescription)
			}
		})
	}
}

func FuzzParseMetadata(f *testing.F) {
	paths, _ := filepath.Glob("testdata/metadata/*.txtar")
	for _, p := range paths {
		if a, err := txtar.ParseFile(p); err == nil && len(a.Files) > 0 {
			f.Add(a.Files[0].Data)
		}
	}
	f.Add([]byte("Metadata-Version: 2.1\r\nName: a\r\nVersion: 1\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := parseMetadata(b)
		if err != nil {
			return
		}
		// What parses is complete and valid.
		if _, err := (Rules{}).ParseName(md.Name()); err != nil {
			t.Fatalf("accepted Name %q: %v", md.Name(), err)
		}
		if _, err := (Rules{}).VersionKey(md.Version()); err != nil {
			t.Fatalf("accepted Version %q: %v", md.Version(), err)
		}
		for k, vs := range md.fields {
			if singleUse[k] && len(vs) != 1 {
				t.Fatalf("accepted %d values of %s", len(vs), k)
			}
			for _, v := range vs {
				if k != "description" && strings.ContainsAny(v, "\r\n") {
					t.Fatalf("field %s has a line break: %q", k, v)
				}
			}
		}
		rm := md.release()
		if rm.Name != md.Name() || rm.Version != md.Version() {
			t.Fatalf("release() = %q %q, want %q %q", rm.Name, rm.Version, md.Name(), md.Version())
		}
	})
}
