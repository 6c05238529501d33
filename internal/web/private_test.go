package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
)

// newPrivateSite is a package site whose registry shares the accounts'
// database: carol publishes npm secret (private, alice a reader of it)
// and npm open (public); bob is a stranger to both.
func newPrivateSite(t *testing.T) (*site, *catalog) {
	t.Helper()
	db := dbtest.Open(t)
	c := newCatalog(t, db)
	s := newSiteOn(t, db, func(o *Options) { o.Registry, o.Pages = c.reg, page.NewCache(1<<20) })
	addUser(t, db, "bob", alicePassword, false)
	c.publish(t, "npm", "secret", "1.0.0", map[string]any{"description": "the secret plans"})
	c.publish(t, "npm", "open", "1.0.0", map[string]any{"description": "open plans"})
	ctx := context.Background()
	if err := c.reg.SetPrivate(ctx, c.alice, "npm", "secret", true); err != nil {
		t.Fatal(err)
	}
	if err := c.reg.Apply(ctx, c.alice, "npm", "secret", registry.Grant{User: "alice", Role: "reader"}); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// getAs fetches a path with a Bearer token.
func (s *site) getAs(t *testing.T, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body(t, resp)
}

// TestPrivatePackagePage: a private package's page is served, marked
// Private, to its readers (a signed-in reader, an administrator, a token
// with read-private) and, even once cached, to no one else: anonymous
// visitors, a signed-in stranger and tokens without read-private get the
// very page of a name never published.
func TestPrivatePackagePage(t *testing.T) {
	s, _ := newPrivateSite(t)
	const badge = `<p class="badge private"`
	alice := s.browser()
	alice.signIn("alice", alicePassword)
	for _, path := range []string{"/-/package/npm/secret", "/-/package/npm/secret@1.0.0"} {
		resp, body := alice.get(path)
		if resp.StatusCode != 200 || !strings.Contains(body, badge) || !strings.Contains(body, "the secret plans") {
			t.Fatalf("alice, a reader, GET %s = %d:\n%s", path, resp.StatusCode, body)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("alice's %s: Cache-Control %q, want no-store", path, cc)
		}
	}
	if _, body := alice.get("/-/package/npm/open"); strings.Contains(body, badge) {
		t.Errorf("a public package's page says Private:\n%s", body)
	}
	root := s.browser()
	root.signIn("root", rootPassword)
	if resp, body := root.get("/-/package/npm/secret"); resp.StatusCode != 200 || !strings.Contains(body, badge) {
		t.Errorf("an administrator GET the private page = %d", resp.StatusCode)
	}

	bob := s.browser()
	bob.signIn("bob", alicePassword)
	aliceTok := func(actions ...access.Action) string {
		secret, _, err := s.toks.Create(context.Background(), s.alice.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: actions, ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	noPrivate, withPrivate := aliceTok(access.Read), aliceTok(access.Read, access.ReadPrivate)
	if code, body := s.getAs(t, withPrivate, "/-/package/npm/secret"); code != 200 || !strings.Contains(body, badge) {
		t.Errorf("alice's token with read-private = %d", code)
	}
	for _, suffix := range []string{"", "@1.0.0", "@2.0.0"} {
		for who, get := range map[string]func(string) (int, string){
			"anonymous":                          func(p string) (int, string) { resp, b := s.browser().get(p); return resp.StatusCode, b },
			"bob":                                func(p string) (int, string) { resp, b := bob.get(p); return resp.StatusCode, b },
			"alice's token without read-private": func(p string) (int, string) { return s.getAs(t, noPrivate, p) },
		} {
			code, got := get("/-/package/npm/secret" + suffix)
			wantCode, want := get("/-/package/npm/never" + suffix)
			want = strings.ReplaceAll(want, "never", "secret")
			if code != http.StatusNotFound || code != wantCode || got != want {
				t.Errorf("%s GET secret%s = %d, want the page of a name never published (%d):\n%s\nwant:\n%s", who, suffix, code, wantCode, got, want)
			}
		}
	}
}

// TestPrivatePackageSearch: the search shows readers their private
// packages, marked, and no one else; the public index never takes in a
// private package, even when a reader's search is the one re-reading it.
func TestPrivatePackageSearch(t *testing.T) {
	s, c := newPrivateSite(t)
	anon := s.browser()
	c.publish(t, "npm", "plans-b", "1.0.0", map[string]any{"description": "more plans"})
	if _, body := anon.get("/-/search?q=plans-b"); !strings.Contains(body, `href="/-/package/npm/plans-b"`) {
		t.Fatalf("anonymous search misses a public package:\n%s", body)
	}
	// plans-b turns private after the index took it in: alice's search
	// re-reads it.
	if err := c.reg.SetPrivate(context.Background(), c.alice, "npm", "plans-b", true); err != nil {
		t.Fatal(err)
	}
	if err := c.reg.Apply(context.Background(), c.alice, "npm", "plans-b", registry.Grant{User: "alice", Role: "reader"}); err != nil {
		t.Fatal(err)
	}
	alice := s.browser()
	alice.signIn("alice", alicePassword)
	bob := s.browser()
	bob.signIn("bob", alicePassword)
	for _, q := range []string{"secret", "plans", "e"} {
		_, body := alice.get("/-/search?q=" + q)
		if !strings.Contains(body, `href="/-/package/npm/secret"`) && q != "plans" || !strings.Contains(body, `<span class="badge private">Private</span>`) {
			t.Errorf("alice's search %q does not show her private packages, marked:\n%s", q, body)
		}
		for who, b := range map[string]*browser{"anonymous": anon, "bob": bob} {
			if _, body := b.get("/-/search?q=" + q); strings.Contains(body, "/-/package/npm/secret") || strings.Contains(body, "/-/package/npm/plans-b") ||
				strings.Contains(body, "Private") {
				t.Errorf("%s's search %q shows a private package:\n%s", who, q, body)
			}
		}
	}
	// Ranked with the public index: plans-b by its name's prefix before
	// open by its description; a private package is found by its name
	// only (secret's description says plans).
	_, body := alice.get("/-/search?q=plans")
	if !strings.Contains(body, "Results 1–2 of 2") || strings.Index(body, "npm/plans-b") > strings.Index(body, "npm/open") {
		t.Errorf("alice's search for plans, want plans-b then open:\n%s", body)
	}
}
