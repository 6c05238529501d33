package npm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const packageLock = `{
  "name": "proj", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {
    "": {"name": "proj", "version": "1.0.0", "dependencies": {"app": "^1.0.0"}},
    "node_modules/app": {"version": "1.0.0", "resolved": "http://127.0.0.1:8080/npm/app/-/app-1.0.0.tgz", "integrity": "sha512-AAAA"},
    "node_modules/@acme/lib": {"version": "1.0.0", "resolved": "http://127.0.0.1:8080/npm/@acme/lib/-/lib-1.0.0.tgz", "integrity": "sha512-BBBB"},
    "node_modules/app/node_modules/alias": {"name": "real-name", "version": "2.0.0", "resolved": "https://other-registry.example/real-name/-/real-name-2.0.0.tgz", "integrity": "sha512-CCCC"},
    "node_modules/local": {"resolved": "packages/local", "link": true},
    "packages/local": {"name": "local", "version": "0.1.0"}
  }
}`

func TestParsePackageLock(t *testing.T) {
	got, err := ParsePackageLock([]byte(packageLock))
	if err != nil {
		t.Fatal(err)
	}
	want := []LockedPackage{
		{Path: "node_modules/@acme/lib", Name: "@acme/lib", Version: "1.0.0", Resolved: "http://127.0.0.1:8080/npm/@acme/lib/-/lib-1.0.0.tgz", Integrity: "sha512-BBBB"},
		{Path: "node_modules/app", Name: "app", Version: "1.0.0", Resolved: "http://127.0.0.1:8080/npm/app/-/app-1.0.0.tgz", Integrity: "sha512-AAAA"},
		{Path: "node_modules/app/node_modules/alias", Name: "real-name", Version: "2.0.0", Resolved: "https://other-registry.example/real-name/-/real-name-2.0.0.tgz", Integrity: "sha512-CCCC"},
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

func TestPackageLockRead(t *testing.T) {
	r, err := PackageLock{}.Read([]byte(packageLock), "http://127.0.0.1:8080/npm")
	if err != nil {
		t.Fatal(err)
	}
	var pins []string
	for _, p := range r.Pins {
		pins = append(pins, p.String()+" "+p.Download+" "+p.SHA512)
	}
	want := []string{"npm @acme/lib 1.0.0 http://127.0.0.1:8080/npm/@acme/lib/-/lib-1.0.0.tgz BBBB", "npm app 1.0.0 http://127.0.0.1:8080/npm/app/-/app-1.0.0.tgz AAAA"}
	if diff := cmp.Diff(want, pins); diff != "" || len(r.Notes) != 3 || len(r.Fails) != 0 {
		t.Errorf("Read: pins mismatch (-want +got):\n%s\nnotes %q, fails %v", diff, r.Notes, r.Fails)
	}
	if _, err := (PackageLock{}).Read([]byte(packageLock), "http://elsewhere.test"); err == nil || !strings.Contains(err.Error(), "no package was resolved from") {
		t.Errorf("Read from another registry = %v, want an error saying nothing was resolved from it", err)
	}
	r, err = PackageLock{}.Read([]byte(`{"lockfileVersion": 3, "packages": {"node_modules/x": {"version": "1.0.0", "integrity": "sha512-AAAA"}}}`), "http://127.0.0.1:8080/npm")
	if err != nil || len(r.Fails) != 1 || !strings.Contains(r.Fails[0].Summary, "no \"resolved\" URL") || !strings.Contains(r.Hint, "omit-lockfile-registry-resolved") {
		t.Errorf("Read without resolved = %+v, %v", r, err)
	}
}
