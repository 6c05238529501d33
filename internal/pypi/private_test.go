package pypi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/adapter"
	"github.com/trove-dev/trove/internal/trove"
)

// The private project of these tests, and a name never published of the
// same length, so that the answers for both are equal byte for byte once
// the name is swapped.
const (
	secretName  = "secretpkg"
	unknownName = "nosuchpkg"
)

// privateEnv is a Trove holding the private project secretpkg 1.0 (a
// wheel and an sdist) of alice, and tokens of people who may read it and
// of people who may not.
type privateEnv struct {
	*testEnv
	wheel, sdist []byte
	reader       string            // rita's: a reader of secretpkg, with read-private
	denied       map[string]string // who may not read it: their token ("" for none)
}

func newPrivateEnv(t *testing.T, e *testEnv) *privateEnv {
	t.Helper()
	p := &privateEnv{testEnv: e}
	p.wheel = e.uploadWheel(t, secretName, "1.0")
	p.sdist = e.uploadSdist(t, secretName, "1.0")
	ctx := context.Background()
	if err := e.Registry.SetPrivate(ctx, principal(e.alice), trove.PyPI, secretName, true); err != nil {
		t.Fatal(err)
	}
	rita := e.User(t, "rita", false)
	if err := e.Registry.Grant(ctx, principal(e.alice), trove.PyPI, secretName, "rita", "reader"); err != nil {
		t.Fatal(err)
	}
	bob := e.User(t, "bob", false)
	p.reader = e.Token(t, rita, nil)
	p.denied = map[string]string{
		"anonymous":                          "",
		"bob (no role)":                      e.Token(t, bob, nil),
		"rita without read-private":          e.Token(t, rita, nil, access.Read),
		"alice (owner) without read-private": e.Token(t, e.alice, nil, access.Read, access.Publish),
	}
	return p
}

// getAs fetches a URL below the PyPI root as pip does with credentials
// in the index URL (token "" for none), with an Accept header ("" for none).
func (e *testEnv) getAs(t testing.TB, token, path, accept string) response {
	t.Helper()
	req, err := http.NewRequest("GET", e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.SetBasicAuth("__token__", token)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return do(t, req)
}

// sameAnswer fails the test unless got is exactly want, the answer for
// the name never published, once that name is read as the private one:
// status, body and every header but Date and X-Request-Id (each
// request's own).
func sameAnswer(t testing.TB, what string, got, want response) {
	t.Helper()
	if got.StatusCode != want.StatusCode || got.body != strings.ReplaceAll(want.body, unknownName, secretName) {
		t.Errorf("%s: %s %q\nwant the answer of a name never published: %s %q", what, got.Status, got.body, want.Status, want.body)
	}
	gh, wh := got.Header.Clone(), want.Header.Clone()
	for _, k := range []string{"Date", "X-Request-Id"} {
		gh.Del(k)
		wh.Del(k)
	}
	for _, k := range keysOf(gh, wh) {
		g, w := gh.Values(k), wh.Values(k)
		for i := range w {
			w[i] = strings.ReplaceAll(w[i], unknownName, secretName)
		}
		if !slices.Equal(g, w) {
			t.Errorf("%s: header %s = %q, want %q as for a name never published", what, k, g, w)
		}
	}
}

func keysOf(hs ...http.Header) []string {
	var ks []string
	for _, h := range hs {
		for k := range h {
			if !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
	}
	slices.Sort(ks)
	return ks
}

// privateRoutes are the read routes of secretpkg's: the URL and the
// Accept header asked with.
func (p *privateEnv) privateRoutes() []struct{ path, accept string } {
	whl := "/packages/" + sha(p.wheel) + "/" + wheelFilename(secretName, "1.0")
	sd := "/packages/" + sha(p.sdist) + "/" + secretName + "-1.0.tar.gz"
	return []struct{ path, accept string }{
		{"/simple/" + secretName + "/", ""},
		{"/simple/" + secretName + "/", "text/html"},
		{"/simple/" + secretName + "/", "application/vnd.pypi.simple.v1+html"},
		{"/simple/" + secretName + "/", "application/vnd.pypi.simple.v1+json"},
		{"/pypi/" + secretName + "/json", ""},
		{"/pypi/" + secretName + "/1.0/json", ""},
		{whl, ""},
		{whl + metadataSuffix, ""},
		{sd, ""},
		{sd + metadataSuffix, ""}, // an sdist has none: a 404 for readers too
	}
}

// TestPrivateProjectReadRoutes checks every read route of a private
// project: a reader gets it, and then (its pages, files and lookups
// cached) everyone who may not read it gets exactly what a name never
// published gets; the reader still gets it afterwards.
func TestPrivateProjectReadRoutes(t *testing.T) {
	p := newPrivateEnv(t, newTestEnv(t))
	for _, rt := range p.privateRoutes() {
		t.Run(rt.path+" Accept="+rt.accept, func(t *testing.T) {
			want := http.StatusOK
			if strings.HasSuffix(rt.path, ".tar.gz"+metadataSuffix) {
				want = http.StatusNotFound
			}
			first := p.getAs(t, p.reader, rt.path, rt.accept)
			if first.StatusCode != want {
				t.Fatalf("for a reader with read-private: %s %s, want %d", first.Status, first.body, want)
			}
			// Files (and their metadata) of a private project are not
			// for shared caches.
			if cc := first.Header.Get("Cache-Control"); strings.Contains(rt.path, "/packages/") && want == http.StatusOK && cc != adapter.PrivateImmutable {
				t.Errorf("Cache-Control for the reader = %q, want %q", cc, adapter.PrivateImmutable)
			}
			unknown := p.getAs(t, "", strings.ReplaceAll(rt.path, secretName, unknownName), rt.accept)
			if unknown.StatusCode != http.StatusNotFound {
				t.Errorf("a name never published: %s, want 404", unknown.Status)
			}
			for who, tok := range p.denied {
				sameAnswer(t, "for "+who, p.getAs(t, tok, rt.path, rt.accept), unknown)
			}
			if again := p.getAs(t, p.reader, rt.path, rt.accept); again.StatusCode != first.StatusCode || again.body != first.body {
				t.Errorf("for the reader again: %s, want what it got first", again.Status)
			}
		})
	}
}

// TestPrivateProjectMadePublic checks that a project made public again
// is served to everyone, and its pages cached for a reader while it was
// private are not what anyone else is kept from.
func TestPrivateProjectMadePublic(t *testing.T) {
	p := newPrivateEnv(t, newTestEnv(t))
	for _, rt := range p.privateRoutes()[:7] {
		p.getAs(t, p.reader, rt.path, rt.accept)
	}
	if err := p.Registry.SetPrivate(context.Background(), principal(p.alice), trove.PyPI, secretName, false); err != nil {
		t.Fatal(err)
	}
	for _, rt := range p.privateRoutes()[:7] {
		if r := p.getAs(t, "", rt.path, rt.accept); r.StatusCode != http.StatusOK {
			t.Errorf("%s once public, anonymously: %s %s", rt.path, r.Status, r.body)
		}
	}
}

// TestPrivateProjectNotInIndex checks that the project index, one page
// cached for everyone, lists public projects only: a private project is
// not on it for its readers either, and leaves it when made private.
func TestPrivateProjectNotInIndex(t *testing.T) {
	e := newTestEnv(t)
	e.uploadWheel(t, "publicpkg", "1.0")
	e.uploadWheel(t, secretName, "1.0")
	accepts := []string{"", "application/vnd.pypi.simple.v1+json"}
	for _, a := range accepts {
		if r := e.getAs(t, "", "/simple/", a); !strings.Contains(r.body, secretName) {
			t.Fatalf("index (Accept %q) before the project is made private: %s\n%s", a, r.Status, r.body)
		}
	}
	if err := e.Registry.SetPrivate(context.Background(), principal(e.alice), trove.PyPI, secretName, true); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{e.token, ""} { // the owner's first: it would fill the cache
		for _, a := range accepts {
			r := e.getAs(t, tok, "/simple/", a)
			if r.StatusCode != http.StatusOK || strings.Contains(r.body, secretName) || !strings.Contains(r.body, "publicpkg") {
				t.Errorf("index (Accept %q, token %t) once secretpkg is private: %s\n%s", a, tok != "", r.Status, r.body)
			}
		}
	}
}

// TestPrivateProjectNeverProxied checks that, with an upstream
// configured, a private project is never asked of the upstream (it is
// local), and answers those who may not read it exactly as a name never
// published answers without upstreams.
func TestPrivateProjectNeverProxied(t *testing.T) {
	pp := newProxyPair(t, nil)
	p := newPrivateEnv(t, pp.down)
	pp.front.mu.Lock()
	before := len(pp.front.requests) // publishing asked whether the upstream has the name
	pp.front.mu.Unlock()
	plain := newTestEnv(t) // no upstreams: the answers of a name never published
	for _, rt := range p.privateRoutes() {
		t.Run(rt.path+" Accept="+rt.accept, func(t *testing.T) {
			if r := p.getAs(t, p.reader, rt.path, rt.accept); r.StatusCode != http.StatusOK && !strings.HasSuffix(rt.path, ".tar.gz"+metadataSuffix) {
				t.Errorf("for a reader: %s %s", r.Status, r.body)
			}
			unknown := plain.getAs(t, "", strings.ReplaceAll(rt.path, secretName, unknownName), rt.accept)
			for who, tok := range p.denied {
				sameAnswer(t, "for "+who+" with an upstream", p.getAs(t, tok, rt.path, rt.accept), unknown)
			}
		})
	}
	pp.front.mu.Lock()
	defer pp.front.mu.Unlock()
	for _, path := range pp.front.requests[before:] {
		if strings.Contains(path, secretName) {
			t.Errorf("the upstream was asked for %s", path)
		}
	}
}
