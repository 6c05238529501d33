package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/scan"
)

// A fakeRevoker is a real, in-memory token store's revocation: the tokens
// in live are revoked (once) when reported.
type fakeRevoker struct {
	mu    sync.Mutex
	live  map[string]bool
	calls []string // "secret at location"
	err   error
}

func (f *fakeRevoker) Revoke(_ context.Context, tok string, at Location) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	f.calls = append(f.calls, tok+" at "+at.String())
	if f.live[tok] {
		delete(f.live, tok)
		return true, nil
	}
	return false, nil
}

// lines returns text whose line n (from 1) is tail, after n-1 lines of
// ordinary code.
func lines(n int, tail string) string {
	var b strings.Builder
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "const x%d = require('./mod%d'); // trove_ is the prefix of tokens\n", i, i)
	}
	return b.String() + tail + "\n"
}

func file(name string, b []byte) scan.File {
	return scan.File{Name: name, Size: int64(len(b)), Content: bytes.NewReader(b)}
}

func TestScanFindsTokensInEveryEcosystem(t *testing.T) {
	tok := access.NewToken()
	config := lines(12, "  token: '"+tok+"',")
	for _, tc := range []struct {
		name     string
		artifact scan.Artifact
		wantAt   string
	}{
		{"npm tarball", scan.Artifact{Ecosystem: "npm", Name: "demo", Version: "1.0.0", Files: []scan.File{file("demo-1.0.0.tgz", archivetest.TarGz(t,
			archivetest.TarEntry{Name: "package/package.json", Body: `{"name":"demo","version":"1.0.0"}`},
			archivetest.TarEntry{Name: "package/lib/config.js", Body: config}))}}, "package/lib/config.js:12"},
		{"wheel", scan.Artifact{Ecosystem: "pypi", Name: "demo", Version: "1.0", Files: []scan.File{file("demo-1.0-py3-none-any.whl", archivetest.Zip(t,
			archivetest.ZipEntry{Name: "demo/__init__.py", Body: "x = 1\n"},
			archivetest.ZipEntry{Name: "demo/sub/settings.py", Body: config}))}}, "demo/sub/settings.py:12"},
		{"sdist tar.gz", scan.Artifact{Ecosystem: "pypi", Name: "demo", Version: "1.0", Files: []scan.File{file("demo-1.0.tar.gz", archivetest.TarGz(t,
			archivetest.TarEntry{Name: "demo-1.0/PKG-INFO", Body: "Metadata-Version: 2.1\n"},
			archivetest.TarEntry{Name: "demo-1.0/src/demo/deep/er/conf.py", Body: config}))}}, "demo-1.0/src/demo/deep/er/conf.py:12"},
		{"sdist zip", scan.Artifact{Ecosystem: "pypi", Name: "demo", Version: "1.0", Files: []scan.File{file("demo-1.0.zip", archivetest.Zip(t,
			archivetest.ZipEntry{Name: "demo-1.0/setup.cfg", Body: config}))}}, "demo-1.0/setup.cfg:12"},
		{"go module zip", scan.Artifact{Ecosystem: "go", Name: "example.com/m", Version: "v1.0.0", Files: []scan.File{
			file("v1.0.0.mod", []byte("module example.com/m\n")),
			file("v1.0.0.zip", archivetest.ModuleZip(t, "example.com/m", "v1.0.0", map[string]string{
				"go.mod": "module example.com/m\n", "internal/cfg/cfg.go": config}))}}, "example.com/m@v1.0.0/internal/cfg/cfg.go:12"},
		{"go.mod itself", scan.Artifact{Ecosystem: "go", Name: "example.com/m", Version: "v1.0.0", Files: []scan.File{
			file("v1.0.0.mod", []byte(config))}}, "v1.0.0.mod:12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rev := &fakeRevoker{live: map[string]bool{tok: true}}
			report, err := scan.NewPipeline(New(rev)).Scan(context.Background(), &tc.artifact)
			if err != nil {
				t.Fatal(err)
			}
			fs := report.Findings
			if report.Verdict != scan.Reject || len(fs) != 1 || fs[0].Verdict != scan.Reject || fmt.Sprintf("%s:%d", fs[0].File, fs[0].Line) != tc.wantAt {
				t.Fatalf("findings = %+v, want one rejection at %s", fs, tc.wantAt)
			}
			if diff := cmp.Diff([]string{tok + " at " + tc.wantAt}, rev.calls); diff != "" {
				t.Errorf("revocations (-want +got):\n%s", diff)
			}
			msg := report.Err().Error()
			for _, want := range []string{tc.wantAt + ": secrets: a live Trove API token", "revoked now", tok[:10] + "..."} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, tok) || strings.Contains(msg, tok[:11]) {
				t.Errorf("message %q shows the secret", msg)
			}
		})
	}
}

func TestScanBinaryMember(t *testing.T) {
	tok := access.NewToken()
	bin := append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00"), bytes.Repeat([]byte{0, 1, 2, 3}, 3000)...)
	off := len(bin)
	bin = append(bin, tok...)
	bin = append(bin, 0, 0, 0)
	a := &scan.Artifact{Ecosystem: "npm", Name: "addon", Version: "1.0.0", Files: []scan.File{file("addon-1.0.0.tgz", archivetest.TarGz(t,
		archivetest.TarEntry{Name: "package/build/Release/addon.node", Body: string(bin)}))}}
	rev := &fakeRevoker{}
	fs, err := New(rev).Scan(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Line != 0 || fs[0].File != "package/build/Release/addon.node" || !strings.Contains(fs[0].Message, "not live here") ||
		!strings.Contains(fs[0].Message, fmt.Sprintf("at byte %d of this binary file", off)) {
		t.Fatalf("findings = %+v, want one for the binary member, by offset, not live", fs)
	}
	if want := fmt.Sprintf("%s at package/build/Release/addon.node (binary, at byte %d)", tok, off); len(rev.calls) != 1 || rev.calls[0] != want {
		t.Errorf("revocations = %q, want %q", rev.calls, want)
	}
}

func TestScanNearMisses(t *testing.T) {
	tok := access.NewToken()
	wrong := tok[:len(tok)-1] + "0"
	if tok[len(tok)-1] == '0' {
		wrong = tok[:len(tok)-1] + "1"
	}
	if access.CheckToken(wrong) == nil {
		t.Fatal("test bug: the altered token passes the checksum")
	}
	for name, body := range map[string]string{
		"wrong checksum":    "TOKEN=" + wrong + "\n",
		"prefix alone":      "Tokens start with trove_ and then 49 characters.\n",
		"prefix at the end": "x = 'trove_",
		"placeholder":       "npm config set //host/:_authToken trove_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n",
		"truncated":         "TOKEN=" + tok[:len(tok)-1],
		"split by a line":   "TOKEN=" + tok[:20] + "\n" + tok[20:] + "\n",
		"another prefix":    "GITHUB=ghp_" + tok[len(access.TokenPrefix):] + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			a := &scan.Artifact{Ecosystem: "npm", Name: "demo", Version: "1.0.0", Files: []scan.File{file("demo-1.0.0.tgz", archivetest.TarGz(t,
				archivetest.TarEntry{Name: "package/.env", Body: body}))}}
			rev := &fakeRevoker{live: map[string]bool{tok: true}}
			fs, err := New(rev).Scan(context.Background(), a)
			if err != nil || len(fs) != 0 || len(rev.calls) != 0 {
				t.Errorf("Scan = %+v, %v (revocations %q), want nothing", fs, err, rev.calls)
			}
		})
	}
}

// TestSearchAcrossReads puts tokens at every position around the reads'
// boundaries and checks each is found once, at its line and offset.
func TestSearchAcrossReads(t *testing.T) {
	tok := access.NewToken()
	read := chunk + tokenLen // the first read's size
	ats := []int{0, 1, chunk, 2*chunk + tokenLen - 5, 3*chunk - 1}
	for at := read - tokenLen - 2; at <= read+2; at++ {
		ats = append(ats, at)
	}
	for _, at := range ats {
		pad := strings.Repeat("abc def\n", at/8+1)[:at]
		text := pad + tok + "\nmore text\n" + tok + strings.Repeat("z", 100)
		var got []hit
		err := newSearcher().search(strings.NewReader(text), func(h hit) error { got = append(got, h); return nil })
		if err != nil {
			t.Fatal(err)
		}
		second := len(pad) + len(tok) + len("\nmore text\n")
		want := []hit{{tok, strings.Count(pad, "\n") + 1, int64(at)}, {tok, strings.Count(pad, "\n") + 3, int64(second)}}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(hit{})); diff != "" {
			t.Errorf("token at %d (-want +got):\n%s", at, diff)
		}
	}
}

func TestScanRepeatsAndLimits(t *testing.T) {
	a, b := access.NewToken(), access.NewToken()
	body := a + "\n" + a + "\n" + b + "\n"
	art := &scan.Artifact{Ecosystem: "npm", Name: "demo", Version: "1.0.0", Files: []scan.File{file("demo-1.0.0.tgz", archivetest.TarGz(t,
		archivetest.TarEntry{Name: "package/a.txt", Body: body}, archivetest.TarEntry{Name: "package/b.txt", Body: strings.Repeat(a+"\n", 3*MaxFindings)}))}}
	rev := &fakeRevoker{live: map[string]bool{a: true}}
	fs, err := New(rev).Scan(context.Background(), art)
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.calls) != 2 {
		t.Errorf("revocations = %q, want one per distinct token", rev.calls)
	}
	if len(fs) != MaxFindings+1 || !strings.Contains(fs[1].Message, "found above too") || !strings.Contains(fs[2].Message, "not live here") ||
		fs[MaxFindings].Message != fmt.Sprintf("and %d more places holding Trove API tokens", 3+3*MaxFindings-MaxFindings) {
		t.Errorf("findings = %d: %+v", len(fs), fs)
	}
}

func TestScanErrors(t *testing.T) {
	tok := access.NewToken()
	tgz := archivetest.TarGz(t, archivetest.TarEntry{Name: "package/a.js", Body: tok})
	art := &scan.Artifact{Ecosystem: "npm", Name: "demo", Version: "1.0.0", Files: []scan.File{file("demo-1.0.0.tgz", tgz)}}
	down := errors.New("database is down")
	if _, err := New(&fakeRevoker{err: down}).Scan(context.Background(), art); !errors.Is(err, down) {
		t.Errorf("Scan with a failing revoker = %v, want a scanner error wrapping %v", err, down)
	}
	broken := &scan.Artifact{Ecosystem: "npm", Name: "demo", Version: "1.0.0", Files: []scan.File{file("demo-1.0.0.tgz", tgz[:len(tgz)/2])}}
	fs, err := New(&fakeRevoker{}).Scan(context.Background(), broken)
	if err != nil || len(fs) != 1 || fs[0].Verdict != scan.Reject || !strings.Contains(fs[0].Message, "could not be searched for secrets") {
		t.Errorf("Scan of a truncated archive = %+v, %v; want a rejection", fs, err)
	}
}
