package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/trove"
)

// TestReportForm: the package page links to the report form, filled in;
// only a signed-in visitor may see it and file a report, which reaches
// the administrators' queue; a second report of the same release and a
// bad category are refused with what to change, and store nothing.
func TestReportForm(t *testing.T) {
	db := dbtest.Open(t)
	var c *catalog
	s := newSiteOn(t, db, func(o *Options) {
		c = newCatalog(t, db)
		o.Registry, o.Pages = c.reg, page.NewCache(1<<20)
	})
	c.publish(t, "npm", "lib", "1.0.0", map[string]any{"description": "lib"})
	root := &access.Principal{UserID: s.root.ID, UserName: "root", Admin: true, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
	queued := func() int {
		t.Helper()
		q, err := c.reg.Queue(context.Background(), root)
		if err != nil {
			t.Fatal(err)
		}
		return len(q.Reports)
	}
	b := s.browser()
	_, body := b.get("/-/package/npm/lib")
	if !strings.Contains(body, `href="/-/report?ecosystem=npm&amp;name=lib&amp;version=1.0.0"`) {
		t.Fatalf("the package page has no report link:\n%s", body)
	}
	form := url.Values{"ecosystem": {"npm"}, "name": {"lib"}, "version": {"1.0.0"}, "category": {"malicious"}, "reason": {"index.js:3 posts ~/.npmrc"}}
	if resp, _ := b.get("/-/report?ecosystem=npm&name=lib&version=1.0.0"); resp.StatusCode == http.StatusOK {
		t.Errorf("an anonymous visitor got the report form")
	}
	if resp, _ := b.post("/-/report", form); resp.StatusCode == http.StatusCreated || queued() != 0 {
		t.Fatalf("an anonymous report = %d, %d queued", resp.StatusCode, queued())
	}

	b.signIn("alice", alicePassword)
	resp, body := b.get("/-/report?ecosystem=npm&name=lib&version=1.0.0")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="name" value="lib"`) || !strings.Contains(body, `name="version" value="1.0.0"`) ||
		!strings.Contains(body, "<option>typosquat</option>") {
		t.Fatalf("the report form: %d\n%s", resp.StatusCode, body)
	}
	bad := url.Values{"ecosystem": {"npm"}, "name": {"lib"}, "category": {"nasty"}, "reason": {"x"}}
	if resp, body := b.post("/-/report", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "unknown report category") || queued() != 0 {
		t.Errorf("a bad category = %d, %d queued\n%s", resp.StatusCode, queued(), body)
	}
	if resp, body := b.post("/-/report", form); resp.StatusCode != http.StatusCreated || !strings.Contains(body, "Reported npm lib 1.0.0 to the administrators") {
		t.Fatalf("the report = %d\n%s", resp.StatusCode, body)
	}
	if queued() != 1 {
		t.Errorf("the report is not in the queue")
	}
	if resp, body := b.post("/-/report", form); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "you already reported") {
		t.Errorf("a second report = %d\n%s", resp.StatusCode, body)
	}
}
