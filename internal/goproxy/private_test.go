package goproxy

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/trove"
)

// The private module of these tests, and a module path never published
// of the same length, so that the answers for both are equal byte for
// byte once the path is swapped.
const (
	secretMod  = "example.com/secretmod"
	unknownMod = "example.com/nosuchmod"
)

// privateEnv is a Trove holding the private module secretmod v1.0.0 of
// alice, and tokens of people who may read it and of people who may not.
type privateEnv struct {
	*testEnv
	reader string            // rita's: a reader of the module, with read-private
	denied map[string]string // who may not read it: their token ("" for none)
}

func newPrivateEnv(t *testing.T, e *testEnv) *privateEnv {
	t.Helper()
	p := &privateEnv{testEnv: e}
	e.publish(t, secretMod, "v1.0.0")
	ctx := context.Background()
	if err := e.Registry.SetPrivate(ctx, principal(e.alice), trove.Go, secretMod, true); err != nil {
		t.Fatal(err)
	}
	rita := e.User(t, "rita", false)
	if err := e.Registry.Grant(ctx, principal(e.alice), trove.Go, secretMod, "rita", "reader"); err != nil {
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

// getAs fetches a URL below the Go root as the go command does with
// .netrc credentials (Basic; token "" for none).
func (e *testEnv) getAs(t testing.TB, token, p string) response {
	t.Helper()
	req, err := http.NewRequest("GET", e.url+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.SetBasicAuth("rita", token)
	}
	return do(t, req)
}

// sameAnswer fails the test unless got is exactly want, the answer for
// the module path never published, once that path is read as the private
// one: status, body and every header but Date and X-Request-Id (each
// request's own).
func sameAnswer(t testing.TB, what string, got, want response) {
	t.Helper()
	if got.StatusCode != want.StatusCode || got.body != strings.ReplaceAll(want.body, unknownMod, secretMod) {
		t.Errorf("%s: %s %q\nwant the answer of a module never published: %s %q", what, got.Status, got.body, want.Status, want.body)
	}
	gh, wh := got.Header.Clone(), want.Header.Clone()
	for _, k := range []string{"Date", "X-Request-Id"} {
		gh.Del(k)
		wh.Del(k)
	}
	keys := map[string]bool{}
	for k := range gh {
		keys[k] = true
	}
	for k := range wh {
		keys[k] = true
	}
	for k := range keys {
		g, w := gh.Values(k), wh.Values(k)
		for i := range w {
			w[i] = strings.ReplaceAll(w[i], unknownMod, secretMod)
		}
		if !slices.Equal(g, w) {
			t.Errorf("%s: header %s = %q, want %q as for a module never published", what, k, g, w)
		}
	}
}

// privateRoutes are the read routes of the private module.
var privateRoutes = []string{
	"/" + secretMod + "/@v/list",
	"/" + secretMod + "/@latest",
	"/" + secretMod + "/@v/v1.0.0.info",
	"/" + secretMod + "/@v/v1.0.0.mod",
	"/" + secretMod + "/@v/v1.0.0.zip",
	"/" + secretMod + "/@v/v1.1.0.info", // a version never published: 404 for readers too
}

// TestPrivateModuleReadRoutes checks every read route of a private
// module: a reader gets it, and then (its pages and lookups cached)
// everyone who may not read it gets exactly what a module path never
// published gets; the reader still gets it afterwards.
func TestPrivateModuleReadRoutes(t *testing.T) {
	p := newPrivateEnv(t, newTestEnv(t))
	for _, path := range privateRoutes {
		t.Run(path, func(t *testing.T) {
			want := http.StatusOK
			if strings.Contains(path, "v1.1.0") {
				want = http.StatusNotFound
			}
			p.checkRoute(t, path, want)
		})
	}
}

// checkRoute fetches path as the reader, who must get the status want,
// then as each person who may not read the module, who must get what a
// module path never published gets, then as the reader again.
func (p *privateEnv) checkRoute(t *testing.T, path string, want int) {
	t.Helper()
	first := p.getAs(t, p.reader, path)
	if first.StatusCode != want {
		t.Fatalf("%s for a reader with read-private: %s %s, want %d", path, first.Status, first.body, want)
	}
	unknown := p.getAs(t, "", strings.ReplaceAll(path, secretMod, unknownMod))
	if unknown.StatusCode != http.StatusNotFound {
		t.Errorf("%s of a module never published: %s, want 404", path, unknown.Status)
	}
	for who, tok := range p.denied {
		sameAnswer(t, path+" for "+who, p.getAs(t, tok, path), unknown)
	}
	if again := p.getAs(t, p.reader, path); again.StatusCode != first.StatusCode || again.body != first.body {
		t.Errorf("%s for the reader again: %s, want what it got first", path, again.Status)
	}
}

// TestPrivateModuleDeletedVersion checks that a deleted version of a
// private module answers 410 to its readers only: 404 to everyone else,
// as a version never published.
func TestPrivateModuleDeletedVersion(t *testing.T) {
	p := newPrivateEnv(t, newTestEnv(t))
	target := trove.Target{Ecosystem: trove.Go, Name: secretMod, Version: "v1.0.0"}
	if err := p.Registry.Delete(context.Background(), principal(p.alice), target, ""); err != nil {
		t.Fatal(err)
	}
	for _, path := range privateRoutes[2:5] {
		t.Run(path, func(t *testing.T) { p.checkRoute(t, path, http.StatusGone) })
	}
}

// TestPrivateModuleMadePublic checks that a module made public again is
// served to everyone.
func TestPrivateModuleMadePublic(t *testing.T) {
	p := newPrivateEnv(t, newTestEnv(t))
	for _, path := range privateRoutes[:5] {
		p.getAs(t, p.reader, path)
	}
	if err := p.Registry.SetPrivate(context.Background(), principal(p.alice), trove.Go, secretMod, false); err != nil {
		t.Fatal(err)
	}
	for _, path := range privateRoutes[:5] {
		if r := p.getAs(t, "", path); r.StatusCode != http.StatusOK {
			t.Errorf("%s once public, anonymously: %s %s", path, r.Status, r.body)
		}
	}
}

// TestPrivateModuleNeverProxied checks that, with an upstream proxy
// configured, a private module is never asked of the upstream (it is
// local), and answers those who may not read it exactly as a module
// path never published answers without upstreams.
func TestPrivateModuleNeverProxied(t *testing.T) {
	pair := newUpstreamPair(t)
	p := newPrivateEnv(t, pair.down)
	pair.mu.Lock()
	before := map[string]int{} // publishing asked whether the upstream has the path
	for k, v := range pair.hits {
		before[k] = v
	}
	pair.mu.Unlock()
	plain := newTestEnv(t) // no upstreams: the answers of a module never published
	for _, path := range privateRoutes {
		t.Run(path, func(t *testing.T) {
			if r := p.getAs(t, p.reader, path); r.StatusCode != http.StatusOK && !strings.Contains(path, "v1.1.0") {
				t.Errorf("for a reader: %s %s", r.Status, r.body)
			}
			unknown := plain.getAs(t, "", strings.ReplaceAll(path, secretMod, unknownMod))
			for who, tok := range p.denied {
				sameAnswer(t, "for "+who+" with an upstream", p.getAs(t, tok, path), unknown)
			}
		})
	}
	pair.mu.Lock()
	defer pair.mu.Unlock()
	for k, n := range pair.hits {
		if strings.Contains(k, "secretmod") && n != before[k] {
			t.Errorf("the upstream was asked for %s %d times", k, n-before[k])
		}
	}
}
