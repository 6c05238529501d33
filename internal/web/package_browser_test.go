package web

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/web/webtest"
)

// hostile is a README and description that would change the page's title
// and set window.pwned if any of their script ran.
const hostile = "# Demo\n\n<script>document.title='pwned';window.pwned=true</script>\n\n" +
	"<img src=x onerror=\"document.title='pwned';window.pwned=true\">\n\n" +
	"<svg onload=\"window.pwned=true\"></svg>\n\n" +
	"[click me](javascript:window.pwned=true)\n\n<details open ontoggle=\"window.pwned=true\"><summary>s</summary></details>\n"

// TestBrowserPackagePageInert opens a package page with a hostile README,
// description and keywords in Chromium: nothing runs, and the page shows
// the versions, digests and the log link.
func TestBrowserPackagePageInert(t *testing.T) {
	s, c := newPackageSite(t)
	c.publish(t, "npm", "evil-demo", "1.0.0", map[string]any{"description": `<img src=x onerror="window.pwned=true">`,
		"keywords": []string{`<script>window.pwned=true</script>`}, "readme": hostile})
	ctx := webtest.Tab(t)
	do(t, ctx, "opening the package page", chromedp.Navigate(s.srv.URL+"/-/package/npm/evil-demo"),
		chromedp.WaitVisible(chromedp.CSS("table.files")))
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "evil-demo · Trove" {
		t.Errorf("title = %q, %v; want it unchanged", title, err)
	}
	if pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned === true`)); err != nil || pwned {
		t.Errorf("window.pwned = %v, %v: a script in the README ran", pwned, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main script, main img, main svg, main [onerror], main [ontoggle]").length`)); err != nil || n != 0 {
		t.Errorf("%d script, img or handler elements in the page's main part (%v)", n, err)
	}
	if got := text(t, ctx, "table.files"); !strings.Contains(got, "sha256") || !strings.Contains(got, "sha512") {
		t.Errorf("files table = %q, want digests", got)
	}
	if got := text(t, ctx, "table.versions"); !strings.Contains(got, "1.0.0") {
		t.Errorf("versions table = %q", got)
	}
	if got := text(t, ctx, "p.description"); !strings.Contains(got, `<img src=x onerror="window.pwned=true">`) {
		t.Errorf("description shown as %q, want its text", got)
	}
}

// TestPackageScreenshots writes screenshots of a package page and of
// search results (to -screenshots if set, as TestScreenshots does).
func TestPackageScreenshots(t *testing.T) {
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	s, c := newPackageSite(t)
	readme := "# left-pad\n\nPads a string on the left.\n\n```js\nleftPad('abc', 5) // '  abc'\n```\n\n" +
		"| option | meaning |\n|---|---|\n| `ch` | the padding character |\n\n- [x] tested\n- [ ] typed\n"
	c.publish(t, "npm", "left-pad", "1.2.0", map[string]any{"description": "String left pad", "keywords": []string{"pad", "string"}, "readme": readme})
	c.publish(t, "npm", "left-pad", "1.3.0", map[string]any{"description": "String left pad", "keywords": []string{"pad", "string"}, "readme": readme})
	c.publish(t, "npm", "pad-app", "0.1.0", map[string]any{"description": "An app that pads"}, registry.Dependency{Name: "left-pad", Constraint: "^1.3.0"})
	c.publish(t, "pypi", "padding", "2.0", map[string]any{"metadata_version": "2.1", "summary": "Padding helpers for Python"})
	ctx := webtest.Tab(t)
	shot := func(name, path, sel string) {
		t.Helper()
		do(t, ctx, "opening "+path, chromedp.Navigate(s.srv.URL+path), chromedp.WaitVisible(chromedp.CSS(sel)))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("screenshot of %s: %v", path, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("package", "/-/package/npm/left-pad", "table.files")
	shot("search", "/-/search?q=pad", "ol.results")
}
