package metatest

import (
	"slices"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

func testPackagePolicies(t *testing.T, db *meta.DB) {
	a, b, c := addPackage(t, db, "npm", "a"), addPackage(t, db, "npm", "b"), addPackage(t, db, "npm", "c")
	if pol, err := db.PackagePolicy(ctx, a.ID); err != nil || pol != (meta.PackagePolicy{}) {
		t.Fatalf("PackagePolicy(no row) = %+v, %v; want the zero policy", pol, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetPublishAuth(ctx, a.ID, trove.AuthPhishingResistant) })
	tx(t, db, func(tx *meta.Tx) error { return tx.SetCriticalMark(ctx, a.ID, true) })
	pol, err := db.PackagePolicy(ctx, a.ID)
	if want := (meta.PackagePolicy{PublishAuth: trove.AuthPhishingResistant, Marked: true}); err != nil || pol != want {
		t.Errorf("PackagePolicy = %+v, %v; want %+v", pol, err, want)
	}
	var added []int64
	tx(t, db, func(tx *meta.Tx) (err error) { added, err = tx.SetRanked(ctx, []int64{a.ID, b.ID}); return err })
	if !slices.Equal(added, []int64{a.ID, b.ID}) {
		t.Errorf("SetRanked(a, b) newly ranked %v, want both", added)
	}
	tx(t, db, func(tx *meta.Tx) (err error) { added, err = tx.SetRanked(ctx, []int64{b.ID, c.ID}); return err })
	if !slices.Equal(added, []int64{c.ID}) {
		t.Errorf("SetRanked(b, c) newly ranked %v, want only c", added)
	}
	if pol, _ := db.PackagePolicy(ctx, a.ID); pol.Ranked || !pol.Marked || pol.PublishAuth != trove.AuthPhishingResistant {
		t.Errorf("a after leaving the ranked set = %+v, want marked, not ranked, override kept", pol)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetCriticalMark(ctx, a.ID, false) })
	crit, err := db.CriticalPackages(ctx)
	if err != nil || !slices.Equal(crit, []int64{b.ID, c.ID}) {
		t.Errorf("CriticalPackages = %v, %v; want [b c]", crit, err)
	}
}

func testDownloads(t *testing.T, db *meta.DB) {
	a, b := addPackage(t, db, "npm", "a"), addPackage(t, db, "npm", "b")
	proxied := &trove.Package{Ecosystem: "npm", Name: "up", DisplayName: "up", CreatedAt: now, Upstream: true}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertPackage(ctx, proxied) })
	add := func(c ...meta.DownloadCount) { tx(t, db, func(tx *meta.Tx) error { return tx.AddDownloads(ctx, c) }) }
	add(meta.DownloadCount{PackageID: a.ID, Day: 10, Count: 5}, meta.DownloadCount{PackageID: b.ID, Day: 11, Count: 2})
	// A second replica adds to the same day: counts add up.
	add(meta.DownloadCount{PackageID: a.ID, Day: 10, Count: 1}, meta.DownloadCount{PackageID: b.ID, Day: 12, Count: 9},
		meta.DownloadCount{PackageID: proxied.ID, Day: 12, Count: 1000})
	tot, err := db.DownloadTotals(ctx, 0)
	want := []meta.DownloadCount{{PackageID: b.ID, Count: 11}, {PackageID: a.ID, Count: 6}}
	if err != nil || !slices.Equal(tot, want) {
		t.Errorf("DownloadTotals(0) = %v, %v; want %v (upstream packages left out)", tot, err, want)
	}
	if n, err := db.Downloads(ctx, b.ID, 12); err != nil || n != 9 {
		t.Errorf("Downloads(b, from day 12) = %d, %v; want 9", n, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.PruneDownloads(ctx, 11) })
	if n, _ := db.Downloads(ctx, a.ID, 0); n != 0 {
		t.Errorf("Downloads(a) after pruning day 10 = %d, want 0", n)
	}
	if n, err := db.CountLocalPackages(ctx); err != nil || n != 2 {
		t.Errorf("CountLocalPackages = %d, %v; want 2", n, err)
	}
}
