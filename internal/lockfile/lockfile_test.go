package lockfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	h1 = strings.Repeat("a", 64)
	h2 = strings.Repeat("B", 64)
)

func TestDetect(t *testing.T) {
	for in, want := range map[string]Format{
		"package-lock.json": PackageLock, "npm-shrinkwrap.json": PackageLock,
		"requirements.txt": Requirements, "requirements-dev.txt": Requirements, "go.sum": GoSum,
	} {
		if got, err := Detect(in); got != want || err != nil {
			t.Errorf("Detect(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"yarn.lock", "Pipfile.lock", "go.mod"} {
		if _, err := Detect(in); err == nil {
			t.Errorf("Detect(%q) succeeded, want an error", in)
		}
	}
}

const packageLock = `{
  "name": "proj", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "proj", "version": "1.0.0", "dependencies": {"app": "^1.0.0"}},
    "node_modules/app": {"version": "1.0.0", "resolved": "http://127.0.0.1:8080/npm/app/-/app-1.0.0.tgz", "integrity": "sha512-AAAA"},
    "node_modules/@acme/lib": {"version": "1.0.0", "resolved": "http://127.0.0.1:8080/npm/@acme/lib/-/lib-1.0.0.tgz", "integrity": "sha512-BBBB"},
    "node_modules/app/node_modules/alias": {"name": "real-name", "version": "2.0.0", "resolved": "https://registry.npmjs.org/real-name/-/real-name-2.0.0.tgz", "integrity": "sha512-CCCC"},
    "node_modules/local": {"resolved": "packages/local", "link": true},
    "packages/local": {"name": "local", "version": "0.1.0"}
  }
}`

func TestParsePackageLock(t *testing.T) {
	got, err := ParsePackageLock([]byte(packageLock))
	if err != nil {
		t.Fatal(err)
	}
	want := []NPMPackage{
		{Path: "node_modules/@acme/lib", Name: "@acme/lib", Version: "1.0.0", Resolved: "http://127.0.0.1:8080/npm/@acme/lib/-/lib-1.0.0.tgz", Integrity: "sha512-BBBB"},
		{Path: "node_modules/app", Name: "app", Version: "1.0.0", Resolved: "http://127.0.0.1:8080/npm/app/-/app-1.0.0.tgz", Integrity: "sha512-AAAA"},
		{Path: "node_modules/app/node_modules/alias", Name: "real-name", Version: "2.0.0", Resolved: "https://registry.npmjs.org/real-name/-/real-name-2.0.0.tgz", Integrity: "sha512-CCCC"},
		{Path: "node_modules/local", Name: "local", Resolved: "packages/local", Link: true},
		{Path: "packages/local", Name: "local", Version: "0.1.0"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePackageLock mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"lockfileVersion": 1, "dependencies": {}}`, `[]`, `{"lockfileVersion": 3}`, `not json`} {
		if _, err := ParsePackageLock([]byte(bad)); err == nil {
			t.Errorf("ParsePackageLock(%q) succeeded, want an error", bad)
		}
	}
}

func TestParseRequirements(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Requirement
		wantErr  string
	}{
		{"continuations and comments", "# pinned\n--index-url http://x/simple/\n\nDemo_Pkg==1.0 \\\n    --hash=sha256:" + h1 + " \\\n    --hash=sha256:" + h2 + "  # both files\nother[extra] == 2.0 ; python_version >= \"3.8\" --hash sha256:" + h1 + "\n",
			[]Requirement{{Line: 4, Name: "Demo_Pkg", Version: "1.0", SHA256: []string{h1, strings.ToLower(h2)}}, {Line: 7, Name: "other", Version: "2.0", SHA256: []string{h1}}}, ""},
		{"crlf and tabs", "a==1\t--hash=sha256:" + h1 + "\r\n", []Requirement{{Line: 1, Name: "a", Version: "1", SHA256: []string{h1}}}, ""},
		{"no pin", "demo>=1.0 --hash=sha256:" + h1 + "\n", nil, "not pinned to one version"},
		{"arbitrary equality", "demo===1.0 --hash=sha256:" + h1 + "\n", nil, "not pinned"},
		{"no hash", "demo==1.0\n", nil, "no --hash=sha256"},
		{"other algorithm", "demo==1.0 --hash=sha512:abcd\n", nil, "sha256 digests only"},
		{"short hash", "demo==1.0 --hash=sha256:abcd\n", nil, "not 64 hex digits"},
		{"include", "-r base.txt\n", nil, "not followed"},
		{"editable", "-e .\n", nil, "editable"},
		{"url", "demo @ https://x/demo.whl --hash=sha256:" + h1 + "\n", nil, "not pinned"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequirements([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseRequirements(%q) = %v, want error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseRequirements(%q) mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestParseGoSum(t *testing.T) {
	in := "example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n\n"
	got, err := ParseGoSum([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []GoSumLine{
		{Line: 1, Module: "example.com/m", Version: "v1.0.0", Hash: "h1:abc=", Text: "example.com/m v1.0.0 h1:abc="},
		{Line: 2, Module: "example.com/m", Version: "v1.0.0", GoMod: true, Hash: "h1:def=", Text: "example.com/m v1.0.0/go.mod h1:def="},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseGoSum mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"example.com/m v1.0.0\n", "example.com/m  v1.0.0 h1:x\n", "m /go.mod h1:x\n", "m v1 nohash\n"} {
		if _, err := ParseGoSum([]byte(bad)); err == nil {
			t.Errorf("ParseGoSum(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzParsePackageLock(f *testing.F) {
	f.Add([]byte(packageLock))
	f.Add([]byte(`{"lockfileVersion":2,"packages":{"node_modules/a":{"version":"1"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkgs, err := ParsePackageLock(data)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Path == "" {
				t.Errorf("the root project was returned as a package")
			}
		}
	})
}

func FuzzParseRequirements(f *testing.F) {
	f.Add([]byte("a==1 \\\n  --hash=sha256:" + h1 + " # c\n-i http://x\n"))
	f.Add([]byte("a[x]==1;python_version<'3' --hash sha256:" + h2 + "\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := ParseRequirements(data)
		if err != nil {
			return
		}
		for _, r := range reqs {
			if r.Name == "" || r.Version == "" || len(r.SHA256) == 0 {
				t.Errorf("ParseRequirements(%q) returned an incomplete requirement %+v", data, r)
			}
			for _, h := range r.SHA256 {
				if !isHex64(h) || strings.ToLower(h) != h {
					t.Errorf("ParseRequirements(%q) returned hash %q", data, h)
				}
			}
		}
	})
}

func FuzzParseGoSum(f *testing.F) {
	f.Add([]byte("example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseGoSum(data)
		if err != nil {
			return
		}
		for _, l := range lines {
			v := l.Version
			if l.GoMod {
				v += "/go.mod"
			}
			if l.Text != l.Module+" "+v+" "+l.Hash || !strings.Contains(string(data), l.Text) {
				t.Errorf("ParseGoSum(%q): line %+v does not round-trip", data, l)
			}
		}
	})
}
