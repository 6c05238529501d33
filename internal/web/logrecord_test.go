package web

import (
	"context"
	"encoding/base64"
	"errors"
	"html"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/page"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// newLoggedPackageSite is newPackageSite with a transparency log, whose
// records the package pages link to.
func newLoggedPackageSite(t *testing.T) (*site, *catalog, *translog.Log) {
	t.Helper()
	var c *catalog
	var l *translog.Log
	s := newSite(t, func(o *Options) {
		db := dbtest.Open(t)
		dir := t.TempDir()
		signer, vkey, err := translog.LoadOrCreateKey(filepath.Join(dir, "key"), "trove.test/log")
		if err != nil {
			t.Fatal(err)
		}
		if l, err = translog.Open(context.Background(), db, signer, vkey, filepath.Join(dir, "checkpoint")); err != nil {
			t.Fatal(err)
		}
		c = newLoggedCatalog(t, db, l)
		o.Registry, o.Pages = c.reg, page.NewCache(1<<20)
		srv := translog.NewServer(l, db, nil)
		srv.GateRecords(func(ctx context.Context, id int64) (bool, error) { // as trove serve does
			err := c.reg.CanReadRecord(ctx, id)
			if errors.Is(err, trove.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		})
		o.Proofs = srv
	})
	return s, c, l
}

// TestLogRecordPage: a release's page links to the page of each of its
// log records, which shows the record, its leaf hash, the latest
// checkpoint and an inclusion proof that verifies against it; unknown or
// malformed record numbers are a 404 that says why.
func TestLogRecordPage(t *testing.T) {
	s, c, l := newLoggedPackageSite(t)
	b := s.browser()
	c.publish(t, "npm", "@acme/lib", "1.0.0", map[string]any{"description": "lib"})
	c.publish(t, "pypi", "tool", "2.0", map[string]any{"metadata_version": "2.1", "summary": "tools"})
	c.publish(t, "npm", "@acme/lib", "1.1.0", map[string]any{"description": "lib"})

	_, body := b.get("/-/package/npm/@acme/lib@1.0.0")
	links := regexp.MustCompile(`href="/-/log/(\d+)">record`).FindAllStringSubmatch(body, -1)
	if len(links) != 1 || links[0][1] != "1" { // record 0 is the first owners, of no version
		t.Fatalf("the package page links to log records %q, want only 1:\n%s", links, body)
	}
	tree := l.Latest().Tree
	if tree.N != 5 {
		t.Fatalf("log of %d records, want 5", tree.N)
	}
	hashRe := regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
	for id := range tree.N {
		resp, body := b.get("/-/log/" + strconv.FormatInt(id, 10))
		if resp.StatusCode != 200 {
			t.Fatalf("GET /-/log/%d = %d\n%s", id, resp.StatusCode, body)
		}
		text := html.UnescapeString(regexp.MustCompile(`(?s)<pre id="record">(.*?)</pre>`).FindStringSubmatch(body)[1])
		leaf := tlog.RecordHash([]byte(text))
		shown := func(id string) string {
			m := regexp.MustCompile(`<code id="` + id + `">([^<]*)</code>`).FindStringSubmatch(body)
			if m == nil {
				return ""
			}
			return html.UnescapeString(m[1])
		}
		if shown("leaf-hash") != base64.StdEncoding.EncodeToString(leaf[:]) ||
			!strings.Contains(body, `<dd id="tree-size">5</dd>`) ||
			shown("root-hash") != base64.StdEncoding.EncodeToString(tree.Hash[:]) ||
			!strings.Contains(body, `href="/log/proof/`+strconv.FormatInt(id, 10)+`"`) {
			t.Errorf("GET /-/log/%d lacks the leaf hash, tree or proof link:\n%s", id, body)
		}
		var proof tlog.RecordProof
		for _, m := range hashRe.FindAllStringSubmatch(body, -1) {
			h, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
			if err != nil || len(h) != tlog.HashSize {
				t.Fatalf("proof hash %q: %v", m[1], err)
			}
			proof = append(proof, tlog.Hash(h))
		}
		if err := tlog.CheckRecord(proof, tree.N, tree.Hash, id, leaf); err != nil {
			t.Errorf("the proof shown for record %d does not verify: %v\n%s", id, err, body)
		}
	}
	_, body = b.get("/-/log/1")
	if !strings.Contains(body, "trove verify npm:@acme/lib@1.0.0 --url http://trove.test") ||
		!strings.Contains(body, `href="/-/package/npm/@acme/lib@1.0.0"`) {
		t.Errorf("the publish record's page lacks the verify command or the package link:\n%s", body)
	}
	for path, want := range map[string]string{
		"/-/log/5":                   "not in the log&#39;s latest checkpoint, a tree of 5 records",
		"/-/log/01":                  "records are numbered 0, 1, 2",
		"/-/log/x":                   "records are numbered 0, 1, 2",
		"/-/log/-1":                  "records are numbered 0, 1, 2",
		"/-/log/9223372036854775808": "records are numbered 0, 1, 2",
	} {
		resp, body := b.get(path)
		if resp.StatusCode != 404 || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, want 404 saying %q:\n%s", path, resp.StatusCode, want, body)
		}
	}
}
