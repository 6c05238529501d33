package npm

import (
	"bytes"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
)

// publishAs publishes a package with npm's access field ("" sends null).
func (e *env) publishAs(token, pkgJSON, access string) response {
	e.t.Helper()
	tgz := pkgTgz(e.t, pkgJSON)
	doc := publishDoc(e.t, e.reg, pkgJSON, tgz)
	if access != "" {
		doc["access"] = access
	}
	return do(e.t, "PUT", e.reg+"/"+escapeName(trove.Name(doc["name"].(string))), token, doc)
}

// isPrivate reads a package's access from the database.
func (e *env) isPrivate(name string) bool {
	e.t.Helper()
	p, err := e.DB.Package(ctx, trove.NPM, trove.Name(name))
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Private
}

// sameAnswer fails the test unless got is want with the name absent
// replaced by secret: status, body and headers (but Date and the
// request's id).
func sameAnswer(t *testing.T, what string, got, want response) {
	t.Helper()
	body := bytes.ReplaceAll(want.body, []byte("absent"), []byte("secret"))
	if got.status != want.status || !bytes.Equal(got.body, body) {
		t.Errorf("%s: %d %s, want the answer of a name never published: %d %s", what, got.status, got.body, want.status, body)
	}
	g, w := got.header.Clone(), want.header.Clone()
	for _, h := range []string{"Date", "X-Request-Id"} {
		g.Del(h)
		w.Del(h)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: headers %v, want those of a name never published: %v", what, g, w)
	}
}

// TestPrivateGateBeforeCache: a private package's documents, rendered
// and cached for a reader, answer everyone else exactly as a name never
// published does, on every read route naming a package.
func TestPrivateGateBeforeCache(t *testing.T) {
	e := newEnv(t, nil)
	u := e.User(t, "alice", false)
	alice := e.Token(t, u, nil)
	noPrivate := e.Token(t, u, nil, access.Read, access.Publish) // no read-private
	bob := e.userToken("bob")
	e.publishAs(alice, pkgJSONOf("@alice/secret", "1.0.0", nil), "restricted").want(t, http.StatusOK)
	if !e.isPrivate("@alice/secret") {
		t.Fatal("npm publish --access restricted made a public package")
	}

	routes := []struct {
		what, path string
		headers    []string
	}{
		{"packument", "/@alice%2fsecret", []string{"Accept", "application/json"}},
		{"abbreviated packument", "/@alice%2fsecret", []string{"Accept", typeAbbreviated}},
		{"packument for writing", "/@alice%2fsecret?write=true", nil},
		{"scoped name with a raw slash", "/@alice/secret", nil},
		{"dist-tags", "/-/package/@alice%2fsecret/dist-tags", nil},
		{"tarball", "/@alice%2fsecret/-/secret-1.0.0.tgz", nil},
		{"visibility", "/-/package/@alice%2fsecret/visibility", nil},
		{"collaborators", "/-/package/@alice%2fsecret/collaborators", nil},
	}
	// alice reads first: every page is rendered and cached.
	etags := map[string]string{}
	for _, r := range routes {
		got := do(t, "GET", e.reg+r.path, alice, nil, r.headers...)
		if got.status != http.StatusOK {
			t.Fatalf("alice's %s: %d %s", r.what, got.status, got.body)
		}
		etags[r.what] = got.header.Get("ETag")
	}
	// Its tarball is not for shared caches (a CDN in front of Trove).
	tarball := e.reg + "/@alice%2fsecret/-/secret-1.0.0.tgz"
	for _, h := range [][]string{nil, {"Range", "bytes=0-9"}} {
		if cc := do(t, "GET", tarball, alice, nil, h...).header.Get("Cache-Control"); cc != "private, max-age=31536000, immutable" {
			t.Errorf("Cache-Control of the private tarball (%v) = %q, want private", h, cc)
		}
	}
	if vis := do(t, "GET", e.reg+"/-/package/@alice%2fsecret/visibility", alice, nil).json(t); vis["public"] != false {
		t.Errorf("visibility for alice = %v, want public false", vis)
	}
	for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"bob (no role)", bob}, {"alice's token without read-private", noPrivate}} {
		for _, r := range routes {
			absent := strings.ReplaceAll(r.path, "secret", "absent")
			want := do(t, "GET", e.reg+absent, who.token, nil, r.headers...)
			got := do(t, "GET", e.reg+r.path, who.token, nil, r.headers...)
			sameAnswer(t, who.name+"'s "+r.what, got, want)
			if got.status != http.StatusNotFound {
				t.Errorf("%s's %s: %d, want 404", who.name, r.what, got.status)
			}
			// A validator of alice's page gets no 304 either.
			if etag := etags[r.what]; etag != "" {
				h := append(slices.Clone(r.headers), "If-None-Match", etag)
				if got := do(t, "GET", e.reg+r.path, who.token, nil, h...); got.status != http.StatusNotFound {
					t.Errorf("%s's %s with alice's ETag: %d, want 404", who.name, r.what, got.status)
				}
			}
		}
		// Search lists it to its readers only, from the same cache.
		var res struct{ Objects []any }
		var total float64
		body := do(t, "GET", e.reg+"/-/v1/search?text=secret", who.token, nil).want(t, http.StatusOK)
		body.decode(t, &res)
		total, _ = body.json(t)["total"].(float64)
		if len(res.Objects) != 0 || total != 0 {
			t.Errorf("%s's search for secret: %s", who.name, body.body)
		}
	}
	body := do(t, "GET", e.reg+"/-/v1/search?text=secret", alice, nil).want(t, http.StatusOK).json(t)
	if objs, _ := body["objects"].([]any); len(objs) != 1 || get(objs[0], "package", "name") != "@alice/secret" {
		t.Errorf("alice's search for secret: %v", body)
	}

	// Made public, it is everyone's.
	do(t, "POST", e.reg+"/-/package/@alice%2fsecret/access", alice, map[string]string{"access": "public"}).want(t, http.StatusOK)
	for _, r := range routes {
		do(t, "GET", e.reg+r.path, "", nil, r.headers...).want(t, http.StatusOK)
	}
	if cc := do(t, "GET", tarball, alice, nil).header.Get("Cache-Control"); cc != adapter.Immutable {
		t.Errorf("Cache-Control of the tarball made public = %q, want %q", cc, adapter.Immutable)
	}
}

// TestPublishAccess: npm publish --access restricted creates a private
// package; on an existing package the access is ignored, as npm's
// registry does; anything but public, restricted or null is refused.
func TestPublishAccess(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publishAs(tok, pkgJSONOf("@alice/secret", "1.0.0", nil), "restricted").want(t, http.StatusOK)
	e.publishAs(tok, pkgJSONOf("@alice/secret", "1.1.0", nil), "public").want(t, http.StatusOK)
	if !e.isPrivate("@alice/secret") {
		t.Error("a later publish with --access public made the package public")
	}
	e.publishAs(tok, pkgJSONOf("@alice/open", "1.0.0", nil), "").want(t, http.StatusOK)
	e.publishAs(tok, pkgJSONOf("@alice/open", "1.1.0", nil), "restricted").want(t, http.StatusOK)
	if e.isPrivate("@alice/open") {
		t.Error("a later publish with --access restricted made the package private")
	}
	e.publishAs(tok, pkgJSONOf("@alice/pub", "1.0.0", nil), "public").want(t, http.StatusOK)
	if e.isPrivate("@alice/pub") {
		t.Error("--access public made a private package")
	}
	// npm refuses unscoped restricted packages itself; this registry
	// makes any package private.
	e.publishAs(tok, pkgJSONOf("lone-secret", "1.0.0", nil), "restricted").want(t, http.StatusOK)
	if !e.isPrivate("lone-secret") {
		t.Error("an unscoped restricted publish made a public package")
	}
	r := e.publishAs(tok, pkgJSONOf("@alice/odd", "1.0.0", nil), "secret").want(t, http.StatusBadRequest)
	if !strings.Contains(r.errorText(), `unknown access "secret"`) {
		t.Errorf("publish with access secret: %q", r.errorText())
	}
	do(t, "GET", e.reg+"/@alice%2fodd", tok, nil).want(t, http.StatusNotFound)
}

// TestNPMAccessStatus: npm access set status=private|public is the
// owners' change; npm access get status answers it; npm access list
// packages ORG lists private packages to members who may read them.
func TestNPMAccessStatus(t *testing.T) {
	e := newOrgEnv(t)
	set := e.reg + "/-/package/@acme%2flib/access"
	vis := e.reg + "/-/package/@acme%2flib/visibility"
	status := func(token string) any {
		t.Helper()
		return do(t, "GET", vis, token, nil).want(t, http.StatusOK).json(t)["public"]
	}
	do(t, "POST", set, e.alice, map[string]string{"access": "restricted"}).want(t, http.StatusOK)
	if !e.isPrivate("@acme/lib") || status(e.alice) != false {
		t.Fatalf("npm access set status=private: private %v, visibility %v", e.isPrivate("@acme/lib"), status(e.alice))
	}
	do(t, "POST", set, e.alice, map[string]string{"access": "private"}).want(t, http.StatusOK) // no change
	do(t, "GET", vis, "", nil).want(t, http.StatusNotFound)
	do(t, "GET", e.reg+"/@acme%2flib", "", nil).want(t, http.StatusNotFound)

	// A member reads it, with a token carrying read-private; npm access
	// list packages shows it then only.
	if err := e.Registry.Invite(ctx, e.who(e.alice), "acme", "carol", "reader"); err != nil {
		t.Fatal(err)
	}
	if err := e.Registry.Answer(ctx, e.who(e.carol), "acme", true); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	do(t, "GET", e.reg+"/-/org/acme/package", e.carol, nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if !reflect.DeepEqual(got, map[string]string{"@acme/lib": "read-only"}) {
		t.Errorf("npm access list packages acme as a reader = %v", got)
	}
	u, err := e.Users.ByName(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	carolPublic := e.Token(t, u, nil, access.Read)
	do(t, "GET", e.reg+"/-/org/acme/package", carolPublic, nil).want(t, http.StatusOK).decode(t, fresh(&got))
	if len(got) != 0 {
		t.Errorf("npm access list packages acme with a token without read-private = %v", got)
	}
	if status(e.carol) != false {
		t.Error("carol's visibility: not private")
	}

	for _, c := range []struct {
		token  string
		body   any
		status int
		msg    string
	}{
		{e.alice, map[string]string{"access": "secret"}, http.StatusBadRequest, `unknown status "secret"`},
		{e.alice, map[string]any{"access": "public", "publish_requires_tfa": true}, http.StatusBadRequest, "one at a time"},
		{e.bob, map[string]string{"access": "public"}, http.StatusNotFound, "package @acme/lib not found"},
		{e.carol, map[string]string{"access": "public"}, http.StatusForbidden, ""},
		{"", map[string]string{"access": "public"}, http.StatusUnauthorized, "npm login"},
	} {
		r := do(t, "POST", set, c.token, c.body)
		if r.status != c.status || !strings.Contains(r.errorText(), c.msg) {
			t.Errorf("POST access %v: %d %q, want %d %q", c.body, r.status, r.errorText(), c.status, c.msg)
		}
	}
	if !e.isPrivate("@acme/lib") {
		t.Fatal("a refused request made the package public")
	}

	do(t, "POST", set, e.alice, map[string]string{"access": "public"}).want(t, http.StatusOK)
	if e.isPrivate("@acme/lib") || status("") != true {
		t.Error("npm access set status=public left the package private")
	}
	do(t, "GET", e.reg+"/@acme%2flib", "", nil).want(t, http.StatusOK)
	r := do(t, "POST", set, e.bob, map[string]string{"access": "restricted"}).want(t, http.StatusForbidden)
	if e.isPrivate("@acme/lib") {
		t.Errorf("bob made the package private: %s", r.body)
	}
}

// TestTokenCreateReadsPrivate: tokens from npm token create, read-only
// and read-write, install private packages (their scope carries
// read-private).
func TestTokenCreateReadsPrivate(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.userToken("alice")
	e.publishAs(tok, pkgJSONOf("@alice/secret", "1.0.0", nil), "restricted").want(t, http.StatusOK)
	for _, body := range []map[string]any{
		{"password": servertest.Password, "readonly": true, "cidr_whitelist": nil},
		{"password": servertest.Password, "packages_and_scopes_permission": "read-only", "packages_all": true},
		{"password": servertest.Password, "readonly": false},
	} {
		created := do(t, "POST", e.reg+"/-/npm/v1/tokens", tok, body).want(t, http.StatusOK).json(t)
		secret, _ := created["token"].(string)
		do(t, "GET", e.reg+"/@alice%2fsecret", secret, nil).want(t, http.StatusOK)
		do(t, "GET", e.reg+"/@alice%2fsecret/-/secret-1.0.0.tgz", secret, nil).want(t, http.StatusOK)
	}
}

// TestProxyPrivateNameStaysLocal: with upstreams, a private package is
// still local: never fetched from an upstream that has its name, and to
// those who may not read it the 404 a local name never published gets
// without upstreams.
func TestProxyPrivateNameStaysLocal(t *testing.T) {
	up, f, down := proxyEnvs(t, nil)
	plain := newEnv(t, nil) // no upstreams
	alice := down.userToken("alice")
	down.publishAs(alice, pkgJSONOf("secret", "1.0.0", nil), "restricted").want(t, http.StatusOK)
	up.publish(up.userToken("mallory"), pkgJSONOf("secret", "9.0.0", nil), "index.js", "confusion")
	var docs atomic.Int64
	f.mu.Lock()
	f.docs = func(b []byte) []byte { docs.Add(1); return b }
	f.mu.Unlock()

	paths := []struct {
		what, path string
		headers    []string
	}{
		{"packument", "/secret", []string{"Accept", "application/json"}},
		{"abbreviated packument", "/secret", []string{"Accept", typeAbbreviated}},
		{"dist-tags", "/-/package/secret/dist-tags", nil},
		{"tarball", "/secret/-/secret-1.0.0.tgz", nil},
		{"upstream's tarball", "/secret/-/secret-9.0.0.tgz", nil},
	}
	for _, p := range paths {
		got := do(t, "GET", down.reg+p.path, "", nil, p.headers...)
		want := do(t, "GET", plain.reg+strings.ReplaceAll(p.path, "secret", "absent"), "", nil, p.headers...)
		sameAnswer(t, "anonymous "+p.what, got, want)
	}
	r := do(t, "GET", down.reg+"/secret", alice, nil).want(t, http.StatusOK)
	if get(r.json(t), "versions", "9.0.0") != nil || r.header.Get(UpstreamHeader) != "" {
		t.Errorf("alice's packument of the private secret shows the upstream's: %s", r.body)
	}
	if n, m := docs.Load(), f.tarballs.Load(); n != 0 || m != 0 {
		t.Errorf("the upstream was asked for %d documents and %d tarballs of a private local name", n, m)
	}
	if rels := down.releases("secret"); len(rels) != 1 || rels[0].Source != "" {
		t.Errorf("releases of secret: %+v, want only the local 1.0.0", rels)
	}
}
