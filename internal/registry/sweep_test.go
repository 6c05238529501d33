package registry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

func TestSweepDiscardsAbandonedUploads(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	s, err := New(Config{DB: db, Blobs: memblob.New(), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * StaleQuarantine)
	var p trove.Package
	var rels [3]trove.Release
	err = db.Tx(ctx, func(tx *meta.Tx) error {
		p = trove.Package{Ecosystem: "npm", Name: "demo", DisplayName: "demo", CreatedAt: old}
		if err := tx.InsertPackage(ctx, &p); err != nil {
			return err
		}
		for i, at := range []time.Time{old, time.Now(), old} { // one abandoned, one in progress, one held
			rels[i] = trove.Release{PackageID: p.ID, Version: []string{"1.0.0", "2.0.0", "3.0.0"}[i], VersionKey: []string{"1.0.0", "2.0.0", "3.0.0"}[i],
				State: trove.Quarantined, Metadata: []byte(`{}`), CreatedAt: at}
			if err := tx.InsertRelease(ctx, &rels[i]); err != nil {
				return err
			}
			f := trove.File{ReleaseID: rels[i].ID, PackageID: p.ID, Filename: rels[i].Version + ".tgz", Kind: "tarball",
				State: trove.Quarantined, SHA256: "x", CreatedAt: at}
			if err := tx.InsertFile(ctx, &f); err != nil {
				return err
			}
		}
		return tx.InsertHold(ctx, &meta.Hold{ReleaseID: rels[2].ID, Reason: "burst", Message: "held", At: old})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.sweepQuarantine(ctx, time.Now().Add(-StaleQuarantine)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Release(ctx, p.ID, "1.0.0"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("abandoned upload still present: %v", err)
	}
	if _, err := db.Release(ctx, p.ID, "2.0.0"); err != nil {
		t.Errorf("upload in progress was discarded: %v", err)
	}
	if _, err := db.Release(ctx, p.ID, "3.0.0"); err != nil {
		t.Errorf("upload held for review was discarded: %v", err)
	}
}
