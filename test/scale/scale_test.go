package main

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/trove-dev/trove/internal/config"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/meta/pgtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
)

// newConfig returns the finished default configuration of a new data
// directory, with a new PostgreSQL database when $TROVE_TEST_DB is
// "postgres" (the server is started from Debian's binaries, see pgtest).
func newConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	switch e := os.Getenv(dbtest.Env); e {
	case "", "sqlite":
	case "postgres":
		file := filepath.Join(dir, "pg-url")
		if err := os.WriteFile(file, []byte(pgtest.NewDatabase(t)), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("TROVE_DATABASE_DRIVER", "postgres")
		t.Setenv("TROVE_DATABASE_URL_FILE", file)
	default:
		t.Fatalf("%s=%q: want sqlite or postgres", dbtest.Env, e)
	}
	c, err := loadConfig("", filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	want := os.Getenv(dbtest.Env)
	if want == "" {
		want = "sqlite"
	}
	if c.Database.Driver != want {
		t.Fatalf("database driver %q, want %q", c.Database.Driver, want)
	}
	return &c
}

// run generates o into a new data directory and returns its configuration.
func run(t *testing.T, o Options) (*config.Config, *Summary) {
	t.Helper()
	c := newConfig(t)
	sum, err := generate(context.Background(), c, o)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	return c, sum
}

// reopen opens a generated data directory as the generator does, for reads.
func reopen(t *testing.T, c *config.Config) *generator {
	t.Helper()
	g := &generator{baseURL: c.BaseURL}
	if err := g.open(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.db.Close() })
	return g
}

// get serves a GET through the generator's stack.
func (g *generator) get(t *testing.T, path, accept string) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Accept", accept)
	req.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	g.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// TestGenerateSmoke generates a small data set the way scripts/scale.sh
// generates the large one (shared blobs, some packages through the real
// path) and checks what the server then reads: every version counted,
// the log recomputed from its records and signed, packuments whose
// tarballs download and match their integrity.
func TestGenerateSmoke(t *testing.T) {
	o := Options{Packages: 200, Versions: 2_000, MaxVersions: 300, Seed: 7, RealEvery: 25, SharedBlobs: 4, Batch: 500}
	c, sum := run(t, o)
	if sum.Packages != 200 || sum.Versions != 2_000 || sum.RealPackages != 8 || sum.RealVersions == 0 {
		t.Fatalf("summary = %+v, want 200 packages, 2000 versions, 8 real packages", sum)
	}
	if want := int64(sum.Versions + sum.Packages + sum.Yanked + sum.Deprecated + sum.OwnersAdded); sum.LogSize != want {
		t.Errorf("log size = %d, want %d (a record per publish, first owner, yank, deprecation, owner added)", sum.LogSize, want)
	}
	g := reopen(t, c)
	ctx := context.Background()
	var releases int64
	g.db.Snapshot(ctx, func(s *meta.Snapshot) error {
		var err error
		releases, err = s.CountRows(ctx, "releases")
		return err
	})
	if releases != 2_000 {
		t.Errorf("releases = %d, want 2000", releases)
	}
	tree, err := translog.Recompute(ctx, g.db, sum.LogSize)
	if err != nil {
		t.Fatal(err)
	}
	if latest := g.log.Latest().Tree; latest != tree {
		t.Errorf("signed tree %v, recomputed from the records %v", latest, tree)
	}
	// The blob store holds the log's copy, as trove serve keeps it, so
	// that the server's first start has nothing to copy.
	mirror := translog.NewStateMirror(registry.LogState(g.blobs))
	if cp, err := mirror.Checkpoint(ctx); err != nil || !bytes.Equal(cp, g.log.Latest().Checkpoint) {
		t.Errorf("checkpoint in the blob store = %q, %v; want the signed one", cp, err)
	}
	if recs, err := mirror.Records(ctx, sum.LogSize-3, sum.LogSize); err != nil || len(recs) != 3 {
		t.Errorf("last records in the blob store: %d, %v", len(recs), err)
	}
	p, err := newPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, pp := range []*plannedPackage{p.packages[0], p.packages[24], p.packages[199]} {
		checkPackument(t, g, pp)
	}
}

// checkPackument reads a package's packument and downloads every
// version's tarball, checking it against the integrity the packument gives.
func checkPackument(t *testing.T, g *generator, pp *plannedPackage) {
	t.Helper()
	var doc struct {
		DistTags map[string]string `json:"dist-tags"`
		Versions map[string]struct {
			Dist struct{ Tarball, Integrity string }
		}
	}
	body := g.get(t, "/npm/"+url.PathEscape(string(pp.name)), "application/vnd.npm.install-v1+json")
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Versions) != len(pp.versions) || doc.DistTags["latest"] == "" {
		t.Fatalf("%s: %d versions, tags %v; want %d versions and a latest tag", pp.name, len(doc.Versions), doc.DistTags, len(pp.versions))
	}
	for v, d := range doc.Versions {
		u, err := url.Parse(d.Dist.Tarball)
		if err != nil {
			t.Fatal(err)
		}
		tgz := g.get(t, u.Path, "*/*")
		sum := sha512.Sum512(tgz)
		if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != d.Dist.Integrity {
			t.Errorf("%s@%s: tarball integrity %s, packument says %s", pp.name, v, got, d.Dist.Integrity)
		}
	}
}

// TestBulkMatchesPublish generates one data set twice, once entirely
// through the real publish path and once entirely through the bulk
// writer, and requires the same rows, the same transparency log and the
// same documents: what the scale figures read from bulk-written data is
// what the server would read had every version been published.
func TestBulkMatchesPublish(t *testing.T) {
	o := Options{Packages: 40, Versions: 200, MaxVersions: 40, Seed: 7, Batch: 40}
	p, err := newPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	if k := planKinds(p); len(k) != 6 {
		t.Fatalf("the plan of seed %d has only %v; pick a seed whose plan has scoped names, dependencies, next tags, yanks, deprecations and added owners", o.Seed, k)
	}
	o.RealEvery = 1
	realCfg, realSum := run(t, o)
	o.RealEvery = 0
	bulkCfg, bulkSum := run(t, o)
	if realSum.RealVersions != 200 || bulkSum.RealVersions != 0 {
		t.Fatalf("real versions: %d and %d, want 200 and 0", realSum.RealVersions, bulkSum.RealVersions)
	}
	real, bulk := reopen(t, realCfg), reopen(t, bulkCfg)
	for _, table := range meta.DumpTables() {
		if slices.Contains([]string{"users", "tokens", "login_sessions", "signin_unlocks", "email_verifications"}, table) {
			continue // accounts: random passwords and tokens, real creation times
		}
		want, got := dump(t, real.db, table), dump(t, bulk.db, table)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("table %s: bulk-written rows differ from published ones (-published +bulk):\n%s", table, diff)
		}
	}
	if r, b := real.log.Latest().Tree, bulk.log.Latest().Tree; r != b {
		t.Errorf("signed trees differ: published %v, bulk %v", r, b)
	}
	for _, pp := range p.packages {
		for _, accept := range []string{"application/json", "application/vnd.npm.install-v1+json"} {
			path := "/npm/" + url.PathEscape(string(pp.name))
			if r, b := real.get(t, path, accept), bulk.get(t, path, accept); !bytes.Equal(r, b) {
				t.Errorf("%s (%s) differs:\npublished %s\nbulk      %s", pp.name, accept, r, b)
			}
		}
	}
}

// planKinds returns the kinds of data a plan has.
func planKinds(p *plan) map[string]bool {
	k := map[string]bool{}
	for _, pp := range p.packages {
		k["scoped"] = k["scoped"] || strings.HasPrefix(string(pp.name), "@")
		k["dependencies"] = k["dependencies"] || len(pp.deps) > 0
		k["yank"] = k["yank"] || len(pp.yank) > 0
		k["deprecate"] = k["deprecate"] || pp.deprecate
		k["owner"] = k["owner"] || pp.coOwner >= 0
		for _, v := range pp.versions {
			k["next"] = k["next"] || v.tag == "next"
		}
	}
	for kind, ok := range k {
		if !ok {
			delete(k, kind)
		}
	}
	return k
}

// dump returns a table's rows in the dump format.
func dump(t *testing.T, db *meta.DB, table string) []string {
	t.Helper()
	var b bytes.Buffer
	err := db.Snapshot(context.Background(), func(s *meta.Snapshot) error {
		_, err := s.DumpTable(context.Background(), table, &b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(b.String(), "\n")
}

// TestGenerateRefusesUsedDirectory: generating into a data directory that
// already holds a log would mix two data sets, and is refused.
func TestGenerateRefusesUsedDirectory(t *testing.T) {
	o := Options{Packages: 3, Versions: 5, MaxVersions: 3, Seed: 1, Batch: 10}
	c, _ := run(t, o)
	_, err := generate(context.Background(), c, o)
	if err == nil || !strings.Contains(err.Error(), "generate into a new one") {
		t.Fatalf("second generate = %v, want a refusal naming a new directory", err)
	}
}

// TestVersionCounts: the counts sum to the total, stay within bounds and
// are skewed (most packages small, a few large).
func TestVersionCounts(t *testing.T) {
	counts := versionCounts(100_000, 1_000_000, 5_000)
	sum, small, large := 0, 0, 0
	for _, n := range counts {
		sum += n
		if n < 1 || n > 5_000 {
			t.Fatalf("count %d out of [1, 5000]", n)
		}
		if n <= 5 {
			small++
		}
		if n >= 1_000 {
			large++
		}
	}
	if sum != 1_000_000 {
		t.Errorf("sum = %d, want 1000000", sum)
	}
	if small < 50_000 || large < 50 || large > 2_000 {
		t.Errorf("%d packages with at most 5 versions, %d with 1000 or more; want most small and 50 to 2000 large", small, large)
	}
}
