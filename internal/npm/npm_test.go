package npm

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

const corgiAccept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"

func TestPublishAndInstall(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	libJSON := pkgJSONOf("@acme/lib", "1.0.0", map[string]any{"license": "MIT", "main": "index.js", "keywords": []string{"acme"}})
	lib := e.publish(tok, libJSON, "index.js", "module.exports = 42\n", "README.md", "# lib\n\nThe acme library.\n")
	appJSON := pkgJSONOf("app", "2.0.0", map[string]any{"dependencies": map[string]string{"@acme/lib": "^1.0.0"},
		"scripts": map[string]string{"postinstall": "node setup.js", "test": "node test.js"}, "bin": "./cli.js"})
	app := e.publish(tok, appJSON, "cli.js", "#!/usr/bin/env node\n", "setup.js", "")

	// The abbreviated packument npm install asks for.
	r := do(t, "GET", e.reg+"/app", "", nil, "Accept", corgiAccept).want(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != typeAbbreviated {
		t.Errorf("corgi Content-Type = %q", ct)
	}
	if v := r.header.Get("Vary"); !strings.Contains(v, "Accept") || !strings.Contains(v, "Accept-Encoding") {
		t.Errorf("Vary = %q, want Accept and Accept-Encoding", v)
	}
	corgi := r.json(t)
	sri, shasum := integrity(app)
	want := map[string]any{
		"name":      "app",
		"modified":  corgi["modified"],
		"dist-tags": map[string]any{"latest": "2.0.0"},
		"versions": map[string]any{"2.0.0": map[string]any{
			"name": "app", "version": "2.0.0",
			"dependencies":     map[string]any{"@acme/lib": "^1.0.0"},
			"bin":              map[string]any{"app": "cli.js"},
			"hasInstallScript": true,
			"_hasShrinkwrap":   false,
			"dist": map[string]any{"integrity": sri, "shasum": shasum, "tarball": e.reg + "/app/-/app-2.0.0.tgz",
				"fileCount": float64(3), "unpackedSize": float64(len(appJSON) + len("#!/usr/bin/env node\n"))},
		}},
	}
	if diff := cmp.Diff(want, corgi); diff != "" {
		t.Errorf("abbreviated packument (-want +got):\n%s", diff)
	}

	// The full one, for npm view and ?write=true.
	full := e.packument("@acme/lib")
	if full["_id"] != "@acme/lib" || full["name"] != "@acme/lib" || full["license"] != "MIT" || full["readme"] != "# lib\n\nThe acme library.\n" ||
		full["description"] != "the @acme/lib package" || full["readmeFilename"] != "README.md" {
		t.Errorf("full packument top level: %v", full)
	}
	if rev, _ := full["_rev"].(string); !regexp.MustCompile(`^[0-9]+-[0-9a-f]{16}$`).MatchString(rev) {
		t.Errorf("_rev = %q", full["_rev"])
	}
	if diff := cmp.Diff([]any{map[string]any{"name": "alice"}}, full["maintainers"]); diff != "" {
		t.Errorf("maintainers (-want +got):\n%s", diff)
	}
	tm := full["time"].(map[string]any)
	for _, k := range []string{"created", "modified", "1.0.0"} {
		if s, _ := tm[k].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(s) {
			t.Errorf("time[%s] = %v", k, tm[k])
		}
	}
	v := get(full, "versions", "1.0.0").(map[string]any)
	if v["_id"] != "@acme/lib@1.0.0" || get(v, "_npmUser", "name") != "alice" || get(v, "dist", "tarball") != e.reg+"/@acme/lib/-/lib-1.0.0.tgz" ||
		v["main"] != "index.js" || v["readme"] != nil || v["_nodeVersion"] != nil {
		t.Errorf("full version document: %v", v)
	}
	if r := do(t, "GET", e.reg+"/@acme%2flib?write=true", "", nil, "Accept", corgiAccept).want(t, 200); r.header.Get("Content-Type") != typeJSON || r.json(t)["_rev"] == nil {
		t.Errorf("?write=true gave %s without _rev: %s", r.header.Get("Content-Type"), r.body)
	}

	// Tarballs, as installed from dist.tarball: the published bytes.
	for name, b := range map[string][]byte{get(v, "dist", "tarball").(string): lib, e.reg + "/app/-/app-2.0.0.tgz": app} {
		r := do(t, "GET", name, "", nil).want(t, http.StatusOK)
		if !bytes.Equal(r.body, b) {
			t.Errorf("GET %s: the bytes differ from the published tarball", name)
		}
		sum := sha256.Sum256(b)
		if r.header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` || r.header.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			r.header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("tarball headers: %v", r.header)
		}
	}
	if r := do(t, "GET", e.reg+"/app/-/app-2.0.0.tgz", "", nil, "Range", "bytes=10-19").want(t, http.StatusPartialContent); !bytes.Equal(r.body, app[10:20]) {
		t.Errorf("range request returned %q", r.body)
	}
	do(t, "GET", e.reg+"/app/-/app-9.9.9.tgz", "", nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/nothing-here", "", nil, "Accept", corgiAccept).want(t, http.StatusNotFound)
	if got := do(t, "GET", e.reg+"/nothing-here", "", nil).errorText(); !strings.Contains(got, "not found") {
		t.Errorf("404 error = %q", got)
	}
}

func TestPackumentCaching(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	deps := map[string]string{}
	for i := range 40 {
		deps[fmt.Sprintf("dependency-%d", i)] = "^1.0.0"
	}
	e.publish(tok, pkgJSONOf("demo", "1.0.0", map[string]any{"dependencies": deps})) // large enough to compress
	for _, accept := range []string{corgiAccept, "application/json"} {
		r := do(t, "GET", e.reg+"/demo", "", nil, "Accept", accept).want(t, 200)
		etag := r.header.Get("ETag")
		if etag == "" || r.header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("ETag %q, Cache-Control %q", etag, r.header.Get("Cache-Control"))
		}
		do(t, "GET", e.reg+"/demo", "", nil, "Accept", accept, "If-None-Match", etag).want(t, http.StatusNotModified)
		z := do(t, "GET", e.reg+"/demo", "", nil, "Accept", accept, "Accept-Encoding", "gzip").want(t, 200)
		if z.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("no gzip for Accept-Encoding: gzip")
		}
		zr, err := gzip.NewReader(bytes.NewReader(z.body))
		if err != nil {
			t.Fatal(err)
		}
		if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, r.body) {
			t.Errorf("gzip body differs from the plain one")
		}
	}
	corgi := do(t, "GET", e.reg+"/demo", "", nil, "Accept", corgiAccept)
	full := do(t, "GET", e.reg+"/demo", "", nil, "Accept", "application/json")
	if corgi.header.Get("ETag") == full.header.Get("ETag") {
		t.Errorf("the two variants share an ETag")
	}
	// A change makes a new document: new ETag, new _rev.
	old := full.json(t)["_rev"]
	e.publish(tok, pkgJSONOf("demo", "1.1.0", nil))
	again := do(t, "GET", e.reg+"/demo", "", nil, "Accept", "application/json", "If-None-Match", full.header.Get("ETag")).want(t, 200)
	if again.json(t)["_rev"] == old || get(again.json(t), "dist-tags", "latest") != "1.1.0" {
		t.Errorf("after a publish: _rev %v (was %v), dist-tags %v", again.json(t)["_rev"], old, again.json(t)["dist-tags"])
	}
}

// TestCachedPackumentDoesNoSQL closes the database after warming the
// cache: cached packuments, dist-tags and tarball lookups still answer.
func TestCachedPackumentDoesNoSQL(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	tgz := e.publish(tok, pkgJSONOf("@acme/demo", "1.0.0", nil))
	urls := []string{e.reg + "/@acme%2fdemo", e.reg + "/@acme/demo", e.reg + "/-/package/@acme%2fdemo/dist-tags"}
	for _, u := range urls {
		do(t, "GET", u, "", nil, "Accept", corgiAccept).want(t, 200)
		do(t, "GET", u, "", nil, "Accept", "application/json").want(t, 200)
	}
	do(t, "GET", e.reg+"/@acme/demo/-/demo-1.0.0.tgz", "", nil).want(t, 200)
	if err := e.DB.Close(); err != nil {
		t.Fatal(err)
	}
	for _, u := range urls {
		do(t, "GET", u, "", nil, "Accept", corgiAccept).want(t, 200)
		do(t, "GET", u, "", nil, "Accept", "application/json").want(t, 200)
	}
	if r := do(t, "GET", e.reg+"/@acme/demo/-/demo-1.0.0.tgz", "", nil).want(t, 200); !bytes.Equal(r.body, tgz) {
		t.Errorf("tarball bytes differ")
	}
	// The database really is closed: anything uncached fails.
	do(t, "GET", e.reg+"/other", "", nil).want(t, http.StatusInternalServerError)
}

func TestScopedURLForms(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	tgz := e.publish(tok, pkgJSONOf("@acme/demo", "1.0.0", nil))
	for _, p := range []string{"/@acme%2fdemo", "/@acme%2Fdemo", "/@acme/demo", "/%40acme%2Fdemo"} {
		for _, accept := range []string{corgiAccept, "application/json"} {
			if r := do(t, "GET", e.reg+p, "", nil, "Accept", accept).want(t, 200); r.json(t)["name"] != "@acme/demo" {
				t.Errorf("GET %s: %s", p, r.body)
			}
		}
	}
	for _, p := range []string{"/@acme/demo/-/demo-1.0.0.tgz", "/@acme%2fdemo/-/demo-1.0.0.tgz", "/@acme%2Fdemo/-/demo-1.0.0.tgz", "/@acme/demo/-/@acme/demo-1.0.0.tgz"} {
		if r := do(t, "GET", e.reg+p, "", nil).want(t, 200); !bytes.Equal(r.body, tgz) {
			t.Errorf("GET %s: wrong bytes", p)
		}
	}
	for _, p := range []string{"/-/package/@acme%2fdemo/dist-tags", "/-/package/@acme%2Fdemo/dist-tags", "/-/package/@acme/demo/dist-tags"} {
		if r := do(t, "GET", e.reg+p, "", nil).want(t, 200); r.json(t)["latest"] != "1.0.0" {
			t.Errorf("GET %s: %s", p, r.body)
		}
	}
	// Writes work through each form too.
	for i, p := range []string{"/-/package/@acme%2fdemo/dist-tags/a", "/-/package/@acme%2Fdemo/dist-tags/b", "/-/package/@acme/demo/dist-tags/c"} {
		do(t, "PUT", e.reg+p, tok, `"1.0.0"`).want(t, 200)
		tags := do(t, "GET", e.reg+"/-/package/@acme/demo/dist-tags", "", nil).json(t)
		if tags[string(rune('a'+i))] != "1.0.0" {
			t.Errorf("PUT %s: tags %v", p, tags)
		}
	}
	// Publishing through the raw-slash and %2F forms.
	for i, p := range []string{"/@acme/demo", "/@acme%2Fdemo"} {
		pj := pkgJSONOf("@acme/demo", fmt.Sprintf("1.%d.0", i+1), nil)
		tgz := pkgTgz(t, pj)
		do(t, "PUT", e.reg+p, tok, publishDoc(t, e.reg, pj, tgz)).want(t, 200)
	}
	if vs := get(e.packument("@acme/demo"), "versions").(map[string]any); len(vs) != 3 {
		t.Errorf("versions after publishing through each form: %v", vs)
	}
}

func TestDistTags(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("demo", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("demo", "2.0.0-beta.1", nil))
	// The second publish moved latest (npm sends --tag; this test did not).
	tagsURL := e.reg + "/-/package/demo/dist-tags"
	do(t, "PUT", tagsURL+"/latest", tok, `"1.0.0"`).want(t, 200)
	do(t, "PUT", tagsURL+"/beta", tok, `"2.0.0-beta.1"`).want(t, 200)
	if diff := cmp.Diff(map[string]any{"latest": "1.0.0", "beta": "2.0.0-beta.1"}, do(t, "GET", tagsURL, "", nil).want(t, 200).json(t)); diff != "" {
		t.Errorf("dist-tags (-want +got):\n%s", diff)
	}
	if got := get(do(t, "GET", e.reg+"/demo", "", nil, "Accept", corgiAccept).json(t), "dist-tags", "beta"); got != "2.0.0-beta.1" {
		t.Errorf("packument dist-tags beta = %v", got)
	}
	do(t, "DELETE", tagsURL+"/beta", tok, nil).want(t, 200)
	if diff := cmp.Diff(map[string]any{"latest": "1.0.0"}, do(t, "GET", tagsURL, "", nil).json(t)); diff != "" {
		t.Errorf("dist-tags after rm (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		method, tag string
		body        any
		token       string
		status      int
		want        string
	}{
		{"DELETE", "latest", nil, tok, 400, "latest dist-tag cannot be removed"},
		{"DELETE", "nosuch", nil, tok, 404, "no dist-tag"},
		{"PUT", "next", `"9.9.9"`, tok, 404, "not found"},
		{"PUT", "next", `1`, tok, 400, "JSON string"},
		{"PUT", "next", `"not a version"`, tok, 400, "not a valid semver"},
		{"PUT", "1.2", `"1.0.0"`, tok, 400, "semver version or range"},
		{"PUT", "v1", `"1.0.0"`, tok, 400, "semver version or range"},
		{"PUT", "~1", `"1.0.0"`, tok, 400, "semver version or range"},
		{"PUT", "a%20b", `"1.0.0"`, tok, 400, "use only letters"},
		{"PUT", "next", `"1.0.0"`, "", 401, "log in"},
		{"PUT", "next", `"1.0.0"`, e.userToken("mallory"), 403, "not an owner"},
	} {
		r := do(t, tc.method, tagsURL+"/"+tc.tag, tc.token, tc.body)
		if r.status != tc.status || !strings.Contains(r.errorText(), tc.want) {
			t.Errorf("%s dist-tag %s = %d %s, want %d containing %q", tc.method, tc.tag, r.status, r.body, tc.status, tc.want)
		}
	}
	do(t, "GET", e.reg+"/-/package/nothing/dist-tags", "", nil).want(t, 404)
	// A packument whose latest was deleted: latest is computed.
	e.publish(tok, pkgJSONOf("computed", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("computed", "1.1.0", nil))
	e.publish(tok, pkgJSONOf("computed", "2.0.0-rc.1", nil))
	do(t, "PUT", e.reg+"/-/package/computed/dist-tags/latest", tok, `"1.1.0"`).want(t, 200)
	if err := e.Registry.Delete(ctx, admin(e), trove.Target{Ecosystem: trove.NPM, Name: "computed", Version: "1.1.0"}, ""); err != nil {
		t.Fatal(err)
	}
	if got := do(t, "GET", e.reg+"/-/package/computed/dist-tags", "", nil).json(t)["latest"]; got != "1.0.0" {
		t.Errorf("computed latest = %v, want 1.0.0 (the highest non-prerelease left)", got)
	}
}

// admin returns an administrator principal.
func admin(e *env) *access.Principal {
	u := e.User(e.t, fmt.Sprintf("root%d", len(e.URL)), true)
	return &access.Principal{UserID: u.ID, UserName: u.Name, Admin: true, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
}

func TestConcurrentPublishOfOneVersion(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	const n = 6
	var wg sync.WaitGroup
	statuses := make([]int, n)
	tgzs := make([][]byte, n)
	for i := range n {
		pj := pkgJSONOf("race", "1.0.0", map[string]any{"description": fmt.Sprintf("variant %d", i)})
		tgzs[i] = pkgTgz(t, pj)
		doc := publishDoc(t, e.reg, pj, tgzs[i])
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = do(t, "PUT", e.reg+"/race", tok, doc).status
		}()
	}
	wg.Wait()
	won := -1
	for i, s := range statuses {
		switch {
		case s == 200 && won < 0:
			won = i
		case s == 200:
			t.Fatalf("two publishes of race@1.0.0 succeeded: %v", statuses)
		case s != http.StatusConflict:
			t.Errorf("a losing publish got %d, want 409", s)
		}
	}
	if won < 0 {
		t.Fatalf("no publish succeeded: %v", statuses)
	}
	served := do(t, "GET", e.reg+"/race/-/race-1.0.0.tgz", "", nil).want(t, 200).body
	sri, _ := integrity(served)
	if !bytes.Equal(served, tgzs[won]) || get(e.packument("race"), "versions", "1.0.0", "dist", "integrity") != sri {
		t.Errorf("the served tarball is not the winner's, or does not match its integrity")
	}
	if rels := e.releases("race"); len(rels) != 1 {
		t.Errorf("%d release rows, want 1", len(rels))
	}
}

func TestSearch(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("left-pad", "1.3.0", map[string]any{"keywords": []string{"pad", "string"}, "homepage": "https://example.test/lp"}))
	e.publish(tok, pkgJSONOf("right-pad", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("@acme/padding", "0.1.0", nil))
	e.publish(tok, pkgJSONOf("other", "1.0.0", nil))
	r := do(t, "GET", e.reg+"/-/v1/search?text=pad&size=20&from=0&quality=0.65&popularity=0.98&maintenance=0.5", "", nil).want(t, 200).json(t)
	var names []string
	for _, o := range r["objects"].([]any) {
		names = append(names, get(o, "package", "name").(string))
		if _, ok := get(o, "package", "maintainers").([]any); !ok {
			t.Errorf("maintainers of %v is not an array", get(o, "package", "name"))
		}
		if get(o, "score", "final") == nil || get(o, "searchScore") == nil {
			t.Errorf("no score in %v", o)
		}
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"@acme/padding", "left-pad", "right-pad"}, names); diff != "" {
		t.Errorf("search results (-want +got):\n%s", diff)
	}
	if r["total"] != float64(3) || r["time"] == nil {
		t.Errorf("total %v, time %v", r["total"], r["time"])
	}
	lp := do(t, "GET", e.reg+"/-/v1/search?text=left-pad", "", nil).json(t)["objects"].([]any)[0]
	want := map[string]any{"name": "left-pad", "version": "1.3.0", "description": "the left-pad package", "keywords": []any{"pad", "string"},
		"date": get(lp, "package", "date"), "links": map[string]any{"homepage": "https://example.test/lp"},
		"publisher": map[string]any{"username": "alice"}, "maintainers": []any{map[string]any{"username": "alice"}}}
	if diff := cmp.Diff(want, get(lp, "package")); diff != "" {
		t.Errorf("search package (-want +got):\n%s", diff)
	}
	page := do(t, "GET", e.reg+"/-/v1/search?text=pad&size=1&from=1", "", nil).json(t)
	if len(page["objects"].([]any)) != 1 || page["total"] != float64(3) {
		t.Errorf("paged search: %v", page)
	}
	do(t, "GET", e.reg+"/-/v1/search?text=pad&size=-1", "", nil).want(t, 400)
	do(t, "GET", e.reg+"/-/v1/search?text=pad&from=x", "", nil).want(t, 400)
	do(t, "GET", e.reg+"/-/v1/search?text="+strings.Repeat("a", 300), "", nil).want(t, 400)
	if n := len(do(t, "GET", e.reg+"/-/v1/search?text=&size=100000", "", nil).want(t, 200).json(t)["objects"].([]any)); n != 4 {
		t.Errorf("an empty search found %d packages, want 4", n)
	}
}

func TestPingAndRoutes(t *testing.T) {
	e := newEnv(t, nil)
	if r := do(t, "GET", e.reg+"/-/ping?write=true", "", nil).want(t, 200); strings.TrimSpace(string(r.body)) != "{}" {
		t.Errorf("ping = %s", r.body)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/-/nothing", 404},
		{"GET", "/left-pad/1.0.0/extra", 404},
		{"POST", "/left-pad", 405},
		{"DELETE", "/left-pad", 405},
		{"PUT", "/left-pad/-/left-pad-1.0.0.tgz", 405},
		{"POST", "/-/ping", 405},
		{"GET", "/Upper", 400},
		{"GET", "/-/v1/login", 405},
	} {
		r := do(t, tc.method, e.reg+tc.path, "", nil)
		if r.status != tc.status || r.header.Get("Content-Type") != "application/json" || r.errorText() == "" {
			t.Errorf("%s %s = %d %q (%s), want %d with a JSON error", tc.method, tc.path, r.status, r.body, r.header.Get("Content-Type"), tc.status)
		}
		if r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s %s sent WWW-Authenticate", tc.method, tc.path)
		}
	}
}

func TestYankedVersionIsDeprecated(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("demo", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("demo", "1.1.0", nil))
	p, _ := e.Tokens.Authenticate(ctx, tok)
	target := func(v string) trove.Target {
		return trove.Target{Ecosystem: trove.NPM, Name: "demo", Version: v}
	}
	if err := e.Registry.Yank(ctx, p, target("1.0.0"), "broken build"); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry.Yank(ctx, p, target("1.1.0"), "also broken"); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry.Deprecate(ctx, p, target("1.1.0"), "use 2.x"); err != nil {
		t.Fatal(err)
	}
	corgi := do(t, "GET", e.reg+"/demo", "", nil, "Accept", corgiAccept).json(t)
	if got := get(corgi, "versions", "1.0.0", "deprecated"); got != "this version was yanked: broken build" {
		t.Errorf("yanked version deprecated = %v", got)
	}
	if got := get(corgi, "versions", "1.1.0", "deprecated"); got != "use 2.x" {
		t.Errorf("yanked and deprecated version deprecated = %v, want its own message", got)
	}
}

// TestDashPackage: "-" is a valid npm name, whose URLs start like the
// registry's own /-/ namespace.
func TestDashPackage(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	tgz := e.publish(tok, pkgJSONOf("-", "1.0.0", nil))
	if r := do(t, "GET", e.reg+"/-", "", nil, "Accept", corgiAccept).want(t, 200); get(r.json(t), "versions", "1.0.0", "dist", "tarball") != e.reg+"/-/-/--1.0.0.tgz" {
		t.Errorf("packument of -: %s", r.body)
	}
	if r := do(t, "GET", e.reg+"/-/-/--1.0.0.tgz", "", nil).want(t, 200); !bytes.Equal(r.body, tgz) {
		t.Errorf("tarball of - differs")
	}
	do(t, "GET", e.reg+"/-/ping", "", nil).want(t, 200)
}
