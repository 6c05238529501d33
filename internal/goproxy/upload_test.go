package goproxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/dirhash"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

const modA = "example.test/liba"

func TestUploadGoSum(t *testing.T) {
	e := newTestEnv(t)
	gomod := goMod(modA)
	z := moduleZip(t, modA, "v1.0.0", map[string]string{"go.mod": string(gomod), "a.go": "package a\n"})
	r := e.post(t, e.token, uploadForm(modA, "v1.0.0", gomod, z))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %s %s", r.Status, r.body)
	}
	var res UploadResult
	if err := json.Unmarshal([]byte(r.body), &res); err != nil {
		t.Fatal(err)
	}
	// The hashes the go command would compute from the downloaded files.
	zf := filepath.Join(t.TempDir(), "m.zip")
	os.WriteFile(zf, z, 0o644)
	zipSum, err := dirhash.HashZip(zf, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	modSum, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(gomod)), nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{modA + " v1.0.0 " + zipSum, modA + " v1.0.0/go.mod " + modSum}
	if strings.Join(res.GoSum, "\n") != strings.Join(want, "\n") {
		t.Errorf("upload GoSum = %q, want %q", res.GoSum, want)
	}
	if res.Module != modA || res.Version != "v1.0.0" || res.Time.IsZero() {
		t.Errorf("upload result = %+v", res)
	}
	// The publish record carries the go.sum lines.
	entries, err := e.Registry.LogEntries(context.Background(), trove.Go, modA, "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.DB.ReadLogRecords(context.Background(), entries[0].ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(recs[0]), strings.Join(want, "\n")+"\n") {
		t.Errorf("publish record:\n%s\nwant it to end with the go.sum lines %q", recs[0], want)
	}

	// Versions are immutable.
	z2 := moduleZip(t, modA, "v1.0.0", map[string]string{"go.mod": string(gomod), "a.go": "package a // changed\n"})
	r = e.post(t, e.token, uploadForm(modA, "v1.0.0", gomod, z2))
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "immutable") {
		t.Errorf("republishing: %s %s, want 409 saying versions are immutable", r.Status, r.body)
	}
}

func TestUploadInvalid(t *testing.T) {
	gomod := goMod(modA)
	good := func(t testing.TB) []byte {
		return moduleZip(t, modA, "v1.0.0", map[string]string{"go.mod": string(gomod), "a.go": "package a\n"})
	}
	prefix := modA + "@v1.0.0/"
	for _, tc := range []struct {
		name   string
		parts  func(t testing.TB) []part
		status int
		want   []string // substrings of the message
	}{
		{"path outside prefix", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", gomod, rawZip(t, prefix+"go.mod", string(gomod), "other@v1.0.0/a.go", "package a\n", "b.go", "package b\n"))
		}, 400, []string{"other@v1.0.0/a.go: path does not have prefix", "b.go: path does not have prefix"}},
		{"case collision", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", gomod, rawZip(t, prefix+"go.mod", string(gomod), prefix+"a.go", "package a\n", prefix+"A.go", "package a\n"))
		}, 400, []string{"A.go", "case-insensitive file name collision"}},
		{"go.mod differs from mod", func(t testing.TB) []part {
			z := moduleZip(t, modA, "v1.0.0", map[string]string{"go.mod": string(gomod) + "\nrequire example.test/x v1.0.0\n", "a.go": "package a\n"})
			return uploadForm(modA, "v1.0.0", gomod, z)
		}, 400, []string{"differs from the uploaded mod file"}},
		{"mod declares another module", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", goMod("example.test/other"), good(t))
		}, 400, []string{"declares module example.test/other", "upload is for " + modA}},
		{"mod without module directive", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", []byte("go 1.22\n"), good(t))
		}, 400, []string{"no module directive"}},
		{"non-canonical version", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0", gomod, good(t))
		}, 400, []string{`use "v1.0.0"`}},
		{"v2 without suffix", func(t testing.TB) []part {
			return uploadForm(modA, "v2.0.0", gomod, good(t))
		}, 400, []string{"v2.0.0", "not allowed"}},
		{"invalid module path", func(t testing.TB) []part {
			return uploadForm("nodot/m", "v1.0.0", gomod, good(t))
		}, 400, []string{"module path", "dot"}},
		{"prepended bytes", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", gomod, append([]byte("#!/bin/sh\n"), good(t)...))
		}, 400, []string{"the module zip: ", "data before the zip archive's first entry"}},
		{"appended bytes", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", gomod, append(good(t), "trailing"...))
		}, 400, []string{"the module zip: data after the end of the zip archive"}},
		{"not a zip", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", gomod, []byte("not a zip"))
		}, 400, []string{"cannot be read"}},
		{"zip too large", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", gomod, bytes.Repeat([]byte("x"), 1<<20+1))
		}, 413, []string{"larger than the limit"}},
		{"missing zip", func(t testing.TB) []part {
			return uploadForm(modA, "v1.0.0", gomod, nil)[:3]
		}, 400, []string{"no zip file"}},
		{"missing version", func(t testing.TB) []part {
			p := uploadForm(modA, "v1.0.0", gomod, good(t))
			return append(p[:1], p[2:]...)
		}, 400, []string{"no version field"}},
		{"unknown part", func(t testing.TB) []part {
			return append(uploadForm(modA, "v1.0.0", gomod, good(t)), part{"extra", []byte("x"), false})
		}, 400, []string{`unknown upload form part "extra"`}},
		{"duplicate part", func(t testing.TB) []part {
			return append(uploadForm(modA, "v1.0.0", gomod, good(t)), part{"version", []byte("v1.0.1"), false})
		}, 400, []string{`more than one "version" part`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			r := e.post(t, e.token, tc.parts(t))
			if r.StatusCode != tc.status {
				t.Fatalf("status %s %s, want %d", r.Status, r.body, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("message %q does not contain %q", r.body, w)
				}
			}
			assertNothingStored(t, e)
		})
	}
}

func assertNothingStored(t testing.TB, e *testEnv) {
	t.Helper()
	if pkgs, err := e.Registry.Packages(context.Background(), trove.Go); err != nil || len(pkgs) != 0 {
		t.Errorf("packages after a refused upload: %v, %v; want none", pkgs, err)
	}
	if n := e.Blobs.Len(); n != 0 {
		t.Errorf("%d blobs stored after a refused upload, want 0", n)
	}
}

func TestUploadBadMultipart(t *testing.T) {
	e := newTestEnv(t)
	r := e.postRaw(t, e.token, strings.NewReader("module=x"), "application/x-www-form-urlencoded")
	if r.StatusCode != 400 || !strings.Contains(r.body, "multipart/form-data") {
		t.Errorf("urlencoded upload: %s %s, want 400 asking for multipart/form-data", r.Status, r.body)
	}
	r = e.postRaw(t, e.token, strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"module\"\r\n\r\nexample.test/x\r\n--b\r\nbroken"),
		"multipart/form-data; boundary=b")
	if r.StatusCode != 400 {
		t.Errorf("truncated multipart upload: %s %s, want 400", r.Status, r.body)
	}
	assertNothingStored(t, e)
}

func TestUploadAuth(t *testing.T) {
	e := newTestEnv(t)
	gomod := goMod(modA)
	z := moduleZip(t, modA, "v1.0.0", map[string]string{"go.mod": string(gomod)})
	bob := e.User(t, "bob", false)
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", 401},
		{"bad token", "trove_" + strings.Repeat("x", 49), 401},
		{"other ecosystem", e.Token(t, e.alice, []string{"pypi:*"}), 403},
		{"other module", e.Token(t, e.alice, []string{"go:example.test/other"}), 403},
		{"read only", e.Token(t, e.alice, []string{"go:*"}, access.Read), 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, tc.token, uploadForm(modA, "v1.0.0", gomod, z))
			if r.StatusCode != tc.status {
				t.Errorf("status %s %s, want %d", r.Status, r.body, tc.status)
			}
			assertNothingStored(t, e)
		})
	}
	// A scoped token works, and only owners publish later versions.
	if r := e.post(t, e.Token(t, e.alice, []string{"go:example.test/*"}, access.Publish), uploadForm(modA, "v1.0.0", gomod, z)); r.StatusCode != 201 {
		t.Fatalf("scoped token: %s %s", r.Status, r.body)
	}
	z2 := moduleZip(t, modA, "v1.1.0", map[string]string{"go.mod": string(gomod)})
	if r := e.post(t, e.Token(t, bob, nil), uploadForm(modA, "v1.1.0", gomod, z2)); r.StatusCode != 403 {
		t.Errorf("non-owner: %s %s, want 403", r.Status, r.body)
	}
}

func TestUploadCaseCollision(t *testing.T) {
	e := newTestEnv(t)
	e.publish(t, "example.test/foo", "v1.0.0")
	gomod := goMod("example.test/Foo")
	z := moduleZip(t, "example.test/Foo", "v1.0.0", map[string]string{"go.mod": string(gomod)})
	r := e.post(t, e.token, uploadForm("example.test/Foo", "v1.0.0", gomod, z))
	if r.StatusCode != 403 || !strings.Contains(r.body, "too similar") {
		t.Errorf("module differing only in case: %s %s, want 403 too similar", r.Status, r.body)
	}
}

func TestUploadIncompatible(t *testing.T) {
	e := newTestEnv(t)
	// +incompatible: a v2+ version of a module without go.mod.
	mod := "example.test/old"
	z := moduleZip(t, mod, "v2.0.0+incompatible", map[string]string{"old.go": "package old\n"})
	if r := e.post(t, e.token, uploadForm(mod, "v2.0.0+incompatible", goMod(mod), z)); r.StatusCode != 201 {
		t.Fatalf("+incompatible without go.mod: %s %s", r.Status, r.body)
	}
	z = moduleZip(t, mod, "v3.0.0+incompatible", map[string]string{"go.mod": string(goMod(mod))})
	if r := e.post(t, e.token, uploadForm(mod, "v3.0.0+incompatible", goMod(mod), z)); r.StatusCode != 400 || !strings.Contains(r.body, "+incompatible") {
		t.Errorf("+incompatible with go.mod: %s %s, want 400", r.Status, r.body)
	}
	if r := e.get(t, "/example.test/old/@v/v2.0.0+incompatible.info"); r.StatusCode != 200 {
		t.Errorf("info of +incompatible: %s %s", r.Status, r.body)
	}
}

func TestErrNotExistForSumdb(t *testing.T) {
	if !os.IsNotExist(notExist("lookup", "x")) || !errors.Is(notExist("lookup", "x"), os.ErrNotExist) {
		t.Error("notExist is not seen by os.IsNotExist, so sumdb.Server would answer 500")
	}
}

// TestUploadKeepsReadme checks that an upload keeps the module's README
// in its release metadata (for the package page), and only a README
// within MaxReadmeBytes.
func TestUploadKeepsReadme(t *testing.T) {
	e := newTestEnv(t)
	gomod := goMod(modA)
	for v, readme := range map[string]string{"v1.0.0": "# A\n\nthe module\n", "v1.0.1": strings.Repeat("x", MaxReadmeBytes+1)} {
		z := moduleZip(t, modA, v, map[string]string{"go.mod": string(gomod), "a.go": "package a\n", "README.md": readme, "sub/README.md": "not this"})
		if r := e.post(t, e.token, uploadForm(modA, v, gomod, z)); r.StatusCode != http.StatusCreated {
			t.Fatalf("upload %s: %s %s", v, r.Status, r.body)
		}
	}
	p, err := e.Registry.Project(context.Background(), trove.Go, modA)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range p.Releases {
		var md map[string]string
		json.Unmarshal(rel.Metadata, &md)
		want := map[string]string{"module": modA}
		if rel.Version == "v1.0.0" {
			want["readme"], want["readmeFilename"] = "# A\n\nthe module\n", "README.md"
		}
		if fmt.Sprint(md) != fmt.Sprint(want) {
			t.Errorf("metadata of %s = %.200v, want %v", rel.Version, md, want)
		}
	}
}
