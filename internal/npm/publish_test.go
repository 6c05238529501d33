package npm

import (
	"archive/tar"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/archive/archivetest"
	"github.com/trove-dev/trove/internal/trove"
)

// wantNothingStored checks that a refused publish left no trace.
func (e *env) wantNothingStored(name string) {
	e.t.Helper()
	do(e.t, "GET", e.reg+"/"+escapeName(trove.Name(name)), "", nil, "Accept", corgiAccept).want(e.t, http.StatusNotFound)
	if rels := e.releases(name); len(rels) != 0 {
		e.t.Errorf("%d release rows of %s after a refused publish", len(rels), name)
	}
	if n := e.Blobs.Len(); n != 0 {
		e.t.Errorf("%d blobs stored after a refused publish", n)
	}
}

// TestPublishFixtures runs testdata/publish: a tarball's package.json
// (package.json, plus files/…) and the manifest the request carries
// (sent.json), with the error wanted, or ok=true.
func TestPublishFixtures(t *testing.T) {
	archivetest.RunFixtures(t, "testdata/publish/*.txtar", func(t *testing.T, a archivetest.Fixture) {
		h := a.Header
		var pkgJSON, sent string
		var files []string
		for _, f := range a.Files {
			switch {
			case f.Name == "package.json":
				pkgJSON = string(f.Data)
			case f.Name == "sent.json":
				sent = string(f.Data)
			case strings.HasPrefix(f.Name, "files/"):
				files = append(files, strings.TrimPrefix(f.Name, "files/"), string(f.Data))
			default:
				t.Fatalf("unknown fixture file %q", f.Name)
			}
		}
		if sent == "" {
			sent = pkgJSON
		}
		t.Parallel()
		e := newEnv(t, nil)
		tok := e.userToken("alice")
		tgz := pkgTgz(t, pkgJSON, files...)
		doc := publishDoc(t, e.reg, sent, tgz)
		name := doc["name"].(string)
		r := do(t, "PUT", e.reg+"/"+escapeName(trove.Name(name)), tok, doc)
		if h["ok"] == "true" {
			r.want(t, http.StatusOK)
			corgi := do(t, "GET", e.reg+"/"+name, "", nil, "Accept", corgiAccept).want(t, 200).json(t)
			v := get(corgi, "versions", h["version"])
			if v == nil {
				t.Fatalf("version %s not in %s", h["version"], corgi)
			}
			if got := get(v, "hasInstallScript") == true; got != (h["installScript"] == "true") {
				t.Errorf("hasInstallScript = %v, want %s", got, h["installScript"])
			}
			return
		}
		if r.status != http.StatusBadRequest || !strings.Contains(r.errorText(), h["wantErr"]) {
			t.Fatalf("publish = %d %s, want 400 containing %q", r.status, r.body, h["wantErr"])
		}
		e.wantNothingStored(name)
	})
}

// TestPublishRejects sends broken publish requests: each is refused with
// a clear 4xx and stores nothing.
func TestPublishRejects(t *testing.T) {
	const pj = `{"name":"demo","version":"1.0.0","description":"d"}`
	// One stack for every case: each must leave it as empty as it was.
	e := newEnv(t, nil)
	alice, bob := e.userToken("alice"), e.userToken("bob", "npm:other")
	good := func(t *testing.T, e *env) (map[string]any, []byte) {
		tgz := pkgTgz(t, pj, "index.js", "x")
		return publishDoc(t, e.reg, pj, tgz), tgz
	}
	att := func(doc map[string]any) map[string]any {
		return doc["_attachments"].(map[string]any)["demo-1.0.0.tgz"].(map[string]any)
	}
	withTarball := func(tgz []byte) func(*testing.T, *env, map[string]any) {
		return func(t *testing.T, e *env, doc map[string]any) {
			sri, shasum := integrity(tgz)
			att(doc)["data"], att(doc)["length"] = base64.StdEncoding.EncodeToString(tgz), len(tgz)
			versionOf(doc)["dist"] = map[string]any{"integrity": sri, "shasum": shasum}
		}
	}
	for _, tc := range []struct {
		name   string
		url    string // default /demo
		token  string // "none" for no token; "" for alice's
		raw    string // a raw body instead of the document
		mutate func(*testing.T, *env, map[string]any)
		status int
		want   string
	}{
		{name: "malformed JSON", raw: `{"name":"demo",`, status: 400, want: "not valid"},
		{name: "not an object", raw: `[1,2]`, status: 400, want: "not valid"},
		{name: "trailing data", raw: `{} {}`, status: 400, want: "after top-level value"},
		{name: "versions wrong type", raw: `{"name":"demo","versions":5,"_attachments":{"demo-1.0.0.tgz":{"data":"AA=="}}}`, status: 400, want: "versions must be an object"},
		{name: "data wrong type", raw: `{"name":"demo","versions":{},"_attachments":{"demo-1.0.0.tgz":{"data":5}}}`, status: 400, want: "not valid"},
		{name: "dist-tags wrong type", raw: `{"name":"demo","dist-tags":{"latest":1},"_attachments":{"x.tgz":{"data":"AA=="}}}`, status: 400, want: "not valid"},
		{name: "no token", token: "none", status: 401, want: "npm login"},
		{name: "other package's token", token: "scoped", status: 403, want: "scope does not allow publish on npm:demo"},
		{name: "invalid name in URL", url: "/Demo", status: 400, want: "uppercase"},
		{name: "URL name differs", url: "/other", status: 400, want: "differs from the package other"},
		{name: "_id differs", mutate: func(t *testing.T, e *env, d map[string]any) { d["_id"] = "other" }, status: 400, want: "_id"},
		{name: "two versions", mutate: func(t *testing.T, e *env, d map[string]any) {
			d["versions"].(map[string]any)["1.0.1"] = versionOf(d)
		}, status: 400, want: "exactly one version"},
		{name: "no versions", mutate: func(t *testing.T, e *env, d map[string]any) { delete(d, "versions") }, status: 400, want: "exactly one version"},
		{name: "version key differs", mutate: func(t *testing.T, e *env, d map[string]any) {
			d["versions"] = map[string]any{"1.0.1": versionOf(d)}
		}, status: 400, want: "the two must be the same"},
		{name: "version not semver", mutate: func(t *testing.T, e *env, d map[string]any) {
			v := versionOf(d)
			v["version"] = "one"
			d["versions"] = map[string]any{"one": v}
		}, status: 400, want: "not a valid semver"},
		{name: "version name differs", mutate: func(t *testing.T, e *env, d map[string]any) { versionOf(d)["name"] = "other" }, status: 400, want: "has name"},
		{name: "two attachments", mutate: func(t *testing.T, e *env, d map[string]any) {
			d["_attachments"].(map[string]any)["demo-1.0.1.tgz"] = att(d)
		}, status: 400, want: "exactly one tarball"},
		{name: "provenance attachment", mutate: func(t *testing.T, e *env, d map[string]any) {
			d["_attachments"].(map[string]any)["demo-1.0.0.sigstore"] = map[string]any{"data": "{}"}
		}, status: 400, want: "--provenance"},
		{name: "other attachment", mutate: func(t *testing.T, e *env, d map[string]any) {
			d["_attachments"] = map[string]any{"demo.zip": att(d)}
		}, status: 400, want: "unexpected attachment"},
		{name: "bad base64", mutate: func(t *testing.T, e *env, d map[string]any) { att(d)["data"] = "!!!not base64!!!" }, status: 400, want: "not valid base64"},
		{name: "truncated base64", mutate: func(t *testing.T, e *env, d map[string]any) {
			att(d)["data"] = att(d)["data"].(string)[:10] + "="
		}, status: 400, want: "not valid base64"},
		{name: "empty data", mutate: func(t *testing.T, e *env, d map[string]any) { att(d)["data"] = "" }, status: 400, want: "empty"},
		{name: "wrong length", mutate: func(t *testing.T, e *env, d map[string]any) { att(d)["length"] = 12 }, status: 400, want: "its length says 12"},
		{name: "wrong integrity", mutate: func(t *testing.T, e *env, d map[string]any) {
			sri, _ := integrity([]byte("other bytes"))
			versionOf(d)["dist"].(map[string]any)["integrity"] = sri
		}, status: 400, want: "does not match dist.integrity"},
		{name: "wrong shasum", mutate: func(t *testing.T, e *env, d map[string]any) {
			versionOf(d)["dist"].(map[string]any)["shasum"] = strings.Repeat("0", 40)
		}, status: 400, want: "does not match dist.shasum"},
		{name: "no digests", mutate: func(t *testing.T, e *env, d map[string]any) { delete(versionOf(d), "dist") }, status: 400, want: "no dist.integrity"},
		{name: "unknown integrity algorithm", mutate: func(t *testing.T, e *env, d map[string]any) {
			versionOf(d)["dist"] = map[string]any{"integrity": "md5-AAAA"}
		}, status: 400, want: "no sha512"},
		{name: "tag elsewhere", mutate: func(t *testing.T, e *env, d map[string]any) { d["dist-tags"] = map[string]any{"latest": "0.9.0"} }, status: 400, want: "may only tag the version it publishes"},
		{name: "tag is a range", mutate: func(t *testing.T, e *env, d map[string]any) { d["dist-tags"] = map[string]any{"1.x": "1.0.0"} }, status: 400, want: "semver version or range"},
		{name: "tag with a slash", mutate: func(t *testing.T, e *env, d map[string]any) { d["dist-tags"] = map[string]any{"a/b": "1.0.0"} }, status: 400, want: "invalid dist-tag"},
		{name: "not gzip", mutate: withTarball(makeTar(&testing.T{}, tarEntry{Name: "package/package.json", Body: pj})), status: 400, want: "not gzip-compressed"},
		{name: "broken gzip", mutate: func(t *testing.T, e *env, d map[string]any) {
			_, tgz := good(t, e)
			withTarball(tgz[:len(tgz)-20])(t, e, d)
		}, status: 400, want: "package tarball"},
		{name: "traversal", mutate: withTarball(makeTgz(&testing.T{}, tarEntry{Name: "package/package.json", Body: pj}, tarEntry{Name: "package/../../x"})), status: 400, want: "path traversal"},
		{name: "symlink out", mutate: withTarball(makeTgz(&testing.T{}, tarEntry{Name: "package/package.json", Body: pj},
			tarEntry{Name: "package/x", Type: tar.TypeSymlink, Linkname: "/etc/passwd"})), status: 400, want: "points outside"},
		{name: "hard link inside the package", mutate: withTarball(makeTgz(&testing.T{}, tarEntry{Name: "package/package.json", Body: pj},
			tarEntry{Name: "package/copy.json", Type: tar.TypeLink, Linkname: "package/package.json"})), status: 400, want: `package tarball: entry "package/copy.json" is a hard link (to "package/package.json"); links are not allowed`},
		{name: "symlink inside the package", mutate: withTarball(makeTgz(&testing.T{}, tarEntry{Name: "package/package.json", Body: pj},
			tarEntry{Name: "package/main.js", Type: tar.TypeSymlink, Linkname: "package.json"})), status: 400, want: `entry "package/main.js" is a symbolic link (to "package.json"); links are not allowed`},
		{name: "duplicate", mutate: withTarball(makeTgz(&testing.T{}, tarEntry{Name: "package/package.json", Body: pj}, tarEntry{Name: "package/package.json", Body: pj})), status: 400, want: "more than once"},
		{name: "no package.json", mutate: withTarball(makeTgz(&testing.T{}, tarEntry{Name: "package/index.js", Body: pj})), status: 400, want: "no package.json"},
		{name: "bomb", mutate: withTarball(makeTgz(&testing.T{}, tarEntry{Name: "package/package.json", Body: pj}, tarEntry{Name: "package/zeros", Body: strings.Repeat("\x00", 20<<20)})), status: 413, want: "compression ratio"},
		{name: "too large", mutate: func(t *testing.T, e *env, d map[string]any) {
			att(d)["data"] = strings.Repeat("A", 5<<20)
		}, status: 413, want: "larger than the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := alice
			switch tc.token {
			case "none":
				tok = ""
			case "scoped":
				tok = bob
			}
			doc, _ := good(t, e)
			if tc.mutate != nil {
				tc.mutate(t, e, doc)
			}
			var body any = doc
			if tc.raw != "" {
				body = tc.raw
			}
			url := tc.url
			if url == "" {
				url = "/demo"
			}
			r := do(t, "PUT", e.reg+url, tok, body)
			if r.status != tc.status || !strings.Contains(r.errorText(), tc.want) {
				t.Fatalf("publish = %d %s, want %d containing %q", r.status, r.body, tc.status, tc.want)
			}
			e.wantNothingStored("demo")
		})
	}
	// Finally, the same package publishes fine.
	doc, _ := good(t, e)
	do(t, "PUT", e.reg+"/demo", alice, doc).want(t, http.StatusOK)
}

func TestPublishVersionRules(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("demo", "1.0.0", nil))

	// A republish, even of identical bytes, is refused with npm's wording.
	pj := pkgJSONOf("demo", "1.0.0", nil)
	r := do(t, "PUT", e.reg+"/demo", tok, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusConflict)
	if !strings.Contains(r.errorText(), "cannot publish over the previously published version 1.0.0") {
		t.Errorf("republish error = %q", r.errorText())
	}
	// Build metadata is dropped: 1.0.0+b is 1.0.0, which exists.
	pj = pkgJSONOf("demo", "1.0.0+build.7", nil)
	doc := publishDoc(t, e.reg, pj, pkgTgz(t, pj))
	do(t, "PUT", e.reg+"/demo", tok, doc).want(t, http.StatusConflict)
	// A version with build metadata publishes under its clean version.
	pj = pkgJSONOf("demo", "1.1.0+build.7", nil)
	do(t, "PUT", e.reg+"/demo", tok, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusOK)
	v := get(e.packument("demo"), "versions", "1.1.0")
	if v == nil || get(v, "version") != "1.1.0" || get(v, "dist", "tarball") != e.reg+"/demo/-/demo-1.1.0.tgz" {
		t.Errorf("1.1.0+build.7 published as %v", v)
	}
	// Another user cannot publish a new version of alice's package.
	mallory := e.userToken("mallory")
	pj = pkgJSONOf("demo", "2.0.0", nil)
	r = do(t, "PUT", e.reg+"/demo", mallory, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "not an owner") {
		t.Errorf("non-owner error = %q", r.errorText())
	}
	// Nor a look-alike of an existing name.
	e.publish(tok, pkgJSONOf("react-dom", "1.0.0", nil))
	pj = pkgJSONOf("reactdom", "1.0.0", nil)
	r = do(t, "PUT", e.reg+"/reactdom", mallory, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "too similar") {
		t.Errorf("look-alike error = %q", r.errorText())
	}
	// A token scoped to @acme/* publishes there and nowhere else.
	scoped := e.userToken("carol", "npm:@acme/*")
	e.publish(scoped, pkgJSONOf("@acme/ok", "1.0.0", nil))
	pj = pkgJSONOf("carols-app", "1.0.0", nil)
	r = do(t, "PUT", e.reg+"/carols-app", scoped, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "scope does not allow publish on npm:carols-app") {
		t.Errorf("scoped token error = %q", r.errorText())
	}
	// A read-only token cannot publish.
	u, _ := e.Users.ByName(ctx, "carol")
	ro := e.Token(t, u, nil, "read")
	pj = pkgJSONOf("@acme/ro", "1.0.0", nil)
	do(t, "PUT", e.reg+"/@acme%2fro", ro, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusForbidden)
	// Tags: a prerelease published with --tag next leaves latest alone.
	pj = pkgJSONOf("demo", "3.0.0-rc.1", nil)
	doc = publishDoc(t, e.reg, pj, pkgTgz(t, pj))
	doc["dist-tags"] = map[string]any{"next": "3.0.0-rc.1"}
	do(t, "PUT", e.reg+"/demo", tok, doc).want(t, http.StatusOK)
	tags := do(t, "GET", e.reg+"/-/package/demo/dist-tags", "", nil).json(t)
	if tags["latest"] != "1.1.0" || tags["next"] != "3.0.0-rc.1" {
		t.Errorf("dist-tags = %v", tags)
	}
}

// TestDerivedManifest checks that the served metadata is the tarball's,
// with the registry's fields, and nothing else from the request.
func TestDerivedManifest(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	pj := `{"name":"demo","version":"1.0.0","_secret":"dropped","license":"ISC","scripts":{"test":"node_modules/.bin/jest"}}`
	tgz := pkgTgz(t, pj, "README.md", "# demo\n\nDoes things.\n", "npm-shrinkwrap.json", "{}")
	doc := publishDoc(t, e.reg, pj, tgz)
	v := versionOf(doc)
	v["gitHead"], v["readme"], v["homepage"] = "abc123", "a readme from the request", "https://evil.example"
	do(t, "PUT", e.reg+"/demo", tok, doc).want(t, 200)
	var stored map[string]any
	json.Unmarshal(e.releases("demo")[0].Metadata, &stored)
	sri, shasum := integrity(tgz)
	want := map[string]any{
		"name": "demo", "version": "1.0.0", "_id": "demo@1.0.0", "license": "ISC",
		"scripts":     map[string]any{"test": "jest"},
		"description": "Does things.", "readme": "# demo\n\nDoes things.\n", "readmeFilename": "README.md",
		"_npmUser":       map[string]any{"name": "alice"},
		"maintainers":    []any{map[string]any{"name": "alice"}},
		"_hasShrinkwrap": true,
		"dist":           map[string]any{"integrity": sri, "shasum": shasum, "fileCount": float64(3), "unpackedSize": float64(len(pj) + len("# demo\n\nDoes things.\n") + 2)},
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("stored manifest (-want +got):\n%s", diff)
	}
}
