package web

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// noteScanner notes one informational finding in every upload.
type noteScanner struct{}

func (noteScanner) Name() string { return "notes" }
func (noteScanner) Scan(ctx context.Context, a *scan.Artifact) ([]scan.Finding, error) {
	return []scan.Finding{{Rule: "minified", File: "package/index.js", Line: 1, Message: "a minified file of 2 MB", Verdict: scan.Publish}}, nil
}

// TestScanSummaryAndFindings: a version's page shows everyone the summary
// of its scans, and its maintainers (alice, granted the role) the
// findings with file and line; a signed-in stranger sees the summary only.
func TestScanSummaryAndFindings(t *testing.T) {
	db := dbtest.Open(t)
	c := newCatalog(t, db)
	reg, err := registry.New(registry.Config{DB: db, Blobs: memblob.New(), Rules: []registry.Rules{npm.Rules{}},
		TempDir: filepath.Join(t.TempDir(), "tmp"), Scan: scan.NewPipeline(noteScanner{})})
	if err != nil {
		t.Fatal(err)
	}
	c.reg = reg
	s := newSiteOn(t, db, func(o *Options) { o.Registry, o.Pages = c.reg, page.NewCache(1<<20) })
	addUser(t, db, "bob", alicePassword, false)
	c.publish(t, "npm", "checked", "1.0.0", map[string]any{"description": "checked"})
	if err := c.reg.Apply(context.Background(), c.alice, trove.NPM, "checked", registry.Grant{User: "alice", Role: "maintainer"}); err != nil {
		t.Fatal(err)
	}
	const summary = `id="scan-summary">Checked before publication by notes: published with 1 informational findings.`
	const finding = `<td>package/index.js:1</td><td>notes (minified)</td><td>a minified file of 2 MB</td>`
	anon := s.browser()
	if _, body := anon.get("/-/package/npm/checked@1.0.0"); !strings.Contains(body, summary) || strings.Contains(body, finding) {
		t.Errorf("anonymous version page: summary %v, findings %v", strings.Contains(body, summary), strings.Contains(body, finding))
	}
	alice := s.browser()
	alice.signIn("alice", alicePassword)
	if _, body := alice.get("/-/package/npm/checked@1.0.0"); !strings.Contains(body, summary) || !strings.Contains(body, finding) {
		t.Errorf("a maintainer's version page lacks the summary or the findings:\n%s", body)
	}
	bob := s.browser()
	bob.signIn("bob", alicePassword)
	if _, body := bob.get("/-/package/npm/checked@1.0.0"); !strings.Contains(body, summary) || strings.Contains(body, finding) {
		t.Errorf("a stranger's version page: summary %v, findings %v", strings.Contains(body, summary), strings.Contains(body, finding))
	}
}
