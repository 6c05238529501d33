package metatest

import (
	"errors"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// testAdminQuarantine: a visible release and its files go Suspended and
// come back in the state they were in (published, yanked), and the scrub
// keeps checking their blobs meanwhile; a release that is not visible
// cannot be quarantined; EndQuarantine forgets one.
func testAdminQuarantine(t *testing.T, db *meta.DB) {
	p := addPackage(t, db, "npm", "q")
	pub := addRelease(t, db, p, "1.0.0", trove.Published)
	yanked := addRelease(t, db, p, "1.1.0", trove.Yanked)
	held := addRelease(t, db, p, "2.0.0", trove.Quarantined)
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.Quarantine(ctx, pub, "reported", "root", now); err != nil {
			return err
		}
		return tx.Quarantine(ctx, yanked, "reported too", "root", now.Add(1))
	})
	err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.Quarantine(ctx, held, "x", "root", now) })
	if !errors.Is(err, meta.ErrConflict) {
		t.Errorf("Quarantine of a release not yet published: %v, want ErrConflict", err)
	}
	list, err := db.QuarantinedReleases(ctx, 10)
	if err != nil || len(list) != 2 || list[0].Version != "1.0.0" || list[0].PriorState != trove.Published ||
		list[1].PriorState != trove.Yanked || list[1].Reason != "reported too" || list[0].By != "root" || list[0].Name != "q" {
		t.Fatalf("QuarantinedReleases = %+v, %v", list, err)
	}
	files, err := db.Files(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.ReleaseID != held.ID && f.State != trove.Suspended {
			t.Errorf("file %s is %s after the quarantine, want suspended", f.Filename, f.State)
		}
	}
	// The scrub still checks them: they may come back.
	if stored, err := db.VisibleFilesAfter(ctx, 0, 10); err != nil || len(stored) != 2 {
		t.Errorf("files the scrub checks after the quarantine: %+v, %v; want the two quarantined", stored, err)
	}
	for _, c := range []struct {
		rel  *trove.Release
		want trove.State
	}{{pub, trove.Published}, {yanked, trove.Yanked}} {
		var got trove.State
		tx(t, db, func(tx *meta.Tx) error {
			var err error
			got, err = tx.Unquarantine(ctx, c.rel.ID)
			return err
		})
		rel, err := db.Release(ctx, p.ID, c.rel.VersionKey)
		if err != nil || got != c.want || rel.State != c.want {
			t.Errorf("Unquarantine(%s) = %s, release %+v, %v; want %s", c.rel.Version, got, rel, err, c.want)
		}
		f, err := db.File(ctx, p.ID, "q-"+c.rel.Version+".tgz")
		if err != nil || f.State != c.want {
			t.Errorf("file of %s after Unquarantine: %+v, %v; want %s", c.rel.Version, f, err, c.want)
		}
	}
	err = db.Tx(ctx, func(tx *meta.Tx) error { _, err := tx.Unquarantine(ctx, pub.ID); return err })
	if !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Unquarantine of a release not quarantined: %v, want ErrNotFound", err)
	}
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.Quarantine(ctx, pub, "again", "root", now); err != nil {
			return err
		}
		if err := tx.EndQuarantine(ctx, pub.ID); err != nil {
			return err
		}
		return tx.EndQuarantine(ctx, pub.ID)
	})
	if _, err := db.QuarantineOf(ctx, pub.ID); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("QuarantineOf after EndQuarantine: %v, want ErrNotFound", err)
	}
}
