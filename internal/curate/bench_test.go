package curate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

// benchVersions returns n versions of one npm package, a day apart.
func benchVersions(e *env, n int) []curate.Version {
	vs := make([]curate.Version, n)
	for i := range vs {
		vs[i] = curate.Version{Ecosystem: trove.NPM, Name: "left-pad", Version: fmt.Sprintf("%d.%d.0", i/100, i%100),
			Published: e.now.Add(-time.Duration(n-i) * 24 * time.Hour), InstallScripts: i%10 == 0}
	}
	return vs
}

// benchEnv has the policies a careful team would set: a cool-down and
// blocked install scripts for the ecosystem, approved-only for a scope, a
// malicious pattern, a denied range and approvals on the package.
func benchEnv(b *testing.B) *env {
	e := newEnv(b, dbtest.Open(b))
	admin := e.user(b, "root", true)
	e.policy(b, admin, trove.NPM, "*", "", 72*time.Hour, "block")
	e.policy(b, admin, trove.NPM, "@acme/*", curate.ModeApprovedOnly, 0, "")
	e.mark(b, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "@evil/*", Kind: curate.Malicious})
	e.mark(b, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: ">=5.0.0 <6.0.0", Kind: curate.Deny})
	for i := 0; i < 10; i++ {
		e.mark(b, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: fmt.Sprintf("9.%d.0", i), Kind: curate.Tag})
	}
	return e
}

// BenchmarkDecide is the cost Decide adds to rendering a proxied
// packument of 1000 versions: cached (the hot path, no query) and after
// the package's curation changed (one query to read it again).
func BenchmarkDecide(b *testing.B) {
	e := benchEnv(b)
	vs := benchVersions(e, 1000)
	if _, err := e.cur.Decide(ctx, vs); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.cur.Decide(ctx, vs); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(vs)), "ns/version")
	})
	b.Run("one-version-cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.cur.Decide(ctx, vs[:1]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reread", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.cur.Invalidate(trove.NPM, "left-pad")
			if _, err := e.cur.Decide(ctx, vs[:1]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
