package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

func TestParsePackagePath(t *testing.T) {
	tests := []struct {
		in   string
		want packagePath
		err  bool
	}{
		{in: "npm/left-pad", want: packagePath{"npm", "left-pad", ""}},
		{in: "npm/left-pad@1.2.3", want: packagePath{"npm", "left-pad", "1.2.3"}},
		{in: "npm/@scope/name", want: packagePath{"npm", "@scope/name", ""}},
		{in: "npm/@scope/name@2.0.0-beta.1", want: packagePath{"npm", "@scope/name", "2.0.0-beta.1"}},
		{in: "go/example.com/mod/v2@v2.1.0", want: packagePath{"go", "example.com/mod/v2", "v2.1.0"}},
		{in: "pypi/Django@4.2", want: packagePath{"pypi", "Django", "4.2"}},
		{in: "npm/x@", err: true},
		{in: "npm/", err: true},
		{in: "npm", err: true},
		{in: "/x", err: true},
		{in: "npm/" + strings.Repeat("a", 513), err: true},
	}
	for _, tt := range tests {
		got, err := parsePackagePath(tt.in)
		if (err != nil) != tt.err || err == nil && got != tt.want {
			t.Errorf("parsePackagePath(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParsePackagePath(f *testing.F) {
	f.Add("npm/@scope/name@1.0.0")
	f.Add("go/example.com/m@v1.0.0")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePackagePath(s)
		if err != nil {
			return
		}
		if p.Ecosystem == "" || p.Name == "" {
			t.Fatalf("parsePackagePath(%q) = %+v: empty part", s, p)
		}
		// The page URL of a parsed path parses back to it.
		u := packageURL(p.Ecosystem, p.Name, p.Version)
		back, err := parsePackagePath(strings.TrimPrefix(unescape(t, u), packagePrefix))
		if err != nil || back != p {
			t.Fatalf("parsePackagePath(%q) = %+v; its URL %q parses to %+v, %v", s, p, u, back, err)
		}
	})
}

func unescape(t *testing.T, u string) string {
	r, err := http.NewRequest("GET", "http://x"+u, nil)
	if err != nil {
		t.Fatalf("URL %q: %v", u, err)
	}
	return r.URL.Path
}

// catalog is a registry with npm and PyPI rules for the package pages.
type catalog struct {
	reg   *registry.Service
	alice *access.Principal
}

func newCatalog(t testing.TB, db *meta.DB) *catalog {
	return newLoggedCatalog(t, db, nil)
}

// newLoggedCatalog is newCatalog whose changes append to a transparency log.
func newLoggedCatalog(t testing.TB, db *meta.DB, l *translog.Log) *catalog {
	t.Helper()
	reg, err := registry.New(registry.Config{DB: db, Blobs: memblob.New(), Rules: []registry.Rules{npm.Rules{}, pypi.Rules{}},
		TempDir: filepath.Join(t.TempDir(), "tmp"), Log: l})
	if err != nil {
		t.Fatal(err)
	}
	u := &trove.User{Name: "carol", Email: "carol@example.test"}
	// Verified, as an operator's trove admin user add --verified: only
	// verified users may publish.
	err = db.Tx(context.Background(), func(tx *meta.Tx) error {
		if err := tx.InsertUser(context.Background(), u, "x"); err != nil {
			return err
		}
		return tx.SetEmailVerified(context.Background(), u.ID, u.Email, time.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	return &catalog{reg: reg, alice: &access.Principal{UserID: u.ID, UserName: u.Name, Packages: []access.Pattern{"*"}, Actions: access.Actions,
		Level: trove.AuthMFA}} // as a publisher with a second factor (the default MFA policy)
}

func (c *catalog) publish(t testing.TB, eco trove.Ecosystem, name, version string, md map[string]any, deps ...registry.Dependency) {
	t.Helper()
	b, _ := json.Marshal(md)
	st, err := c.reg.Stage(strings.NewReader(name+version), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u := &registry.Upload{Ecosystem: eco, Name: name, Version: version, Metadata: b, Tags: []string{"latest"}, Dependencies: deps,
		Files: []registry.UploadFile{{Filename: strings.ReplaceAll(name, "/", "-") + "-" + version + ".tgz", Kind: "tarball", Content: st}}}
	if _, err := c.reg.Publish(context.Background(), c.alice, u); err != nil {
		t.Fatalf("Publish(%s %s): %v", name, version, err)
	}
}

func newPackageSite(t *testing.T) (*site, *catalog) {
	t.Helper()
	var c *catalog
	s := newSite(t, func(o *Options) {
		db := dbtest.Open(t)
		c = newCatalog(t, db)
		o.Registry, o.Pages = c.reg, page.NewCache(1<<20)
	})
	return s, c
}

// TestPackagePageOrganisation: the page of a package that belongs to an
// organisation names it, and follows a transfer.
func TestPackagePageOrganisation(t *testing.T) {
	s, c := newPackageSite(t)
	b := s.browser()
	c.publish(t, "npm", "orglib", "1.0.0", map[string]any{"description": "lib"})
	if _, body := b.get("/-/package/npm/orglib"); strings.Contains(body, "Belongs to the organisation") {
		t.Fatalf("a user's package names an organisation:\n%s", body)
	}
	if _, err := c.reg.CreateOrg(context.Background(), c.alice, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := c.reg.Transfer(context.Background(), c.alice, "npm", "orglib", registry.Transfer{Org: "acme"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, body := b.get("/-/package/npm/orglib")
		return strings.Contains(body, "Belongs to the organisation <strong>acme</strong>")
	})
}

func TestPackagePageCurrent(t *testing.T) {
	s, c := newPackageSite(t)
	b := s.browser()
	c.publish(t, "npm", "lib", "1.0.0", map[string]any{"description": "a <b>library</b>", "readme": "# Lib\n\n<script>x()</script>"})
	c.publish(t, "pypi", "Tool_Kit", "2.0", map[string]any{"metadata_version": "2.1", "summary": "tools",
		"description": "Tool\n====\n\n.. raw:: html\n\n   <script>x()</script>", "keywords": "build, lib"})

	resp, body := b.get("/-/package/npm/lib")
	if resp.StatusCode != 200 || !strings.Contains(body, "a &lt;b&gt;library&lt;/b&gt;") || !strings.Contains(body, `id="user-content-lib"`) ||
		strings.Contains(body, "<script>x()") || strings.Contains(body, "carol@example.test") || !strings.Contains(body, "carol") {
		t.Fatalf("GET npm lib: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `id="published-with">Published with a second factor.`) {
		t.Errorf("npm lib's page does not say it was published with a second factor:\n%s", body)
	}
	// PyPI: reStructuredText is preformatted text; names normalize.
	resp, body = b.get("/-/package/pypi/tool-kit")
	if resp.StatusCode != 200 || !strings.Contains(body, `<pre class="readme-text">Tool`) || !strings.Contains(body, "&lt;script&gt;") ||
		!strings.Contains(body, "pip install &#39;Tool_Kit==2.0&#39; --index-url http://trove.test/pypi/simple/") {
		t.Fatalf("GET pypi tool-kit: %d\n%s", resp.StatusCode, body)
	}
	// A dependent published later shows on the cached page of lib.
	if _, body = b.get("/-/package/npm/lib"); strings.Contains(body, `href="/-/package/npm/app"`) {
		t.Fatal("dependent listed before it exists")
	}
	c.publish(t, "npm", "app", "1.0.0", map[string]any{"description": "app"}, registry.Dependency{Name: "lib", Constraint: "^1.0.0"})
	waitFor(t, func() bool {
		_, body = b.get("/-/package/npm/lib")
		return strings.Contains(body, `href="/-/package/npm/app"`)
	})
	if _, body = b.get("/-/package/npm/app"); !strings.Contains(body, `<a href="/-/package/npm/lib">lib</a> <code>^1.0.0</code>`) {
		t.Errorf("app's page does not list its dependency:\n%s", body)
	}
	// A yank shows at once.
	if err := c.reg.Yank(context.Background(), c.alice, trove.Target{Ecosystem: "npm", Name: "lib", Version: "1.0.0"}, "broken <build>"); err != nil {
		t.Fatal(err)
	}
	if _, body = b.get("/-/package/npm/lib@1.0.0"); !strings.Contains(body, "is yanked: broken &lt;build&gt;") {
		t.Errorf("yanked version page:\n%s", body)
	}
	// A deleted version stays listed as a tombstone.
	c.publish(t, "npm", "solo", "1.0.0", map[string]any{"readme": "first"})
	c.publish(t, "npm", "solo", "1.1.0", map[string]any{"readme": "secret plans"})
	if err := c.reg.Delete(context.Background(), c.alice, trove.Target{Ecosystem: "npm", Name: "solo", Version: "1.1.0"}, "oops"); err != nil {
		t.Fatal(err)
	}
	if _, body = b.get("/-/package/npm/solo"); !strings.Contains(body, `<span class="badge deleted">deleted</span>`) {
		t.Errorf("package page does not mark 1.1.0 deleted:\n%s", body)
	}
	if _, body = b.get("/-/package/npm/solo@1.1.0"); !strings.Contains(body, "Version 1.1.0 was deleted") || strings.Contains(body, "secret plans") {
		t.Errorf("deleted version page:\n%s", body)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if ok() {
			return
		}
		timeSleep()
	}
	t.Fatal("condition not met in time")
}

func TestSearchRanking(t *testing.T) {
	s, c := newPackageSite(t)
	b := s.browser()
	for _, n := range []string{"parse", "parse-json", "json-parse", "other"} {
		c.publish(t, "npm", n, "1.0.0", map[string]any{"description": "x"})
	}
	c.publish(t, "npm", "zed", "1.0.0", map[string]any{"description": "a Parse helper"})
	c.publish(t, "pypi", "parse", "1.0", map[string]any{"metadata_version": "2.1", "summary": "pypi parse"})
	_, body := b.get("/-/search?q=Parse")
	var order []string
	for _, part := range strings.Split(body, `<li><a href="/-/package/`)[1:] {
		order = append(order, part[:strings.IndexByte(part, '"')])
	}
	want := []string{"npm/parse", "pypi/parse", "npm/parse-json", "npm/json-parse", "npm/zed"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("search order = %v, want %v", order, want)
	}
	for q, status := range map[string]int{strings.Repeat("a", MaxQuery+1): 400, "\xff": 400} {
		if resp, _ := b.get("/-/search?q=" + urlQuery(q)); resp.StatusCode != status {
			t.Errorf("search %q: %d, want %d", q, resp.StatusCode, status)
		}
	}
	if resp, _ := b.get("/-/search?q=a&page=0"); resp.StatusCode != 400 {
		t.Errorf("page 0: %d, want 400", resp.StatusCode)
	}
	// Pagination: 25 matches, two pages.
	for i := 0; i < 22; i++ {
		c.publish(t, "npm", fmt.Sprintf("many-%02d", i), "1.0.0", map[string]any{})
	}
	_, body = b.get("/-/search?q=many&page=2")
	if !strings.Contains(body, "Results 21–22 of 22") || !strings.Contains(body, `rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("page 2 of many:\n%s", body)
	}
}

func BenchmarkPackagePage(b *testing.B) {
	db := dbtest.Open(b)
	c := newCatalog(b, db)
	for i := 0; i < 30; i++ {
		c.publish(b, "npm", "bench", fmt.Sprintf("1.0.%d", i), map[string]any{"description": "bench",
			"readme": strings.Repeat("# Title\n\nSome *text* with [a link](https://x.example/).\n\n", 200)})
	}
	h, err := New(Options{BaseURL: "http://trove.test", Ecosystems: map[string]string{"npm": "/npm"}, Registry: c.reg, Pages: page.NewCache(16 << 20)})
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://trove.test/-/package/npm/bench", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(s int)           { d.status = s }

func timeSleep() { time.Sleep(10 * time.Millisecond) }
