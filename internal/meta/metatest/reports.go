package metatest

import (
	"errors"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// testReports: one open report per user and target (ErrConflict, and the
// transaction still usable by the caller's retry), open reports grouped
// by target, closing a release's reports with or without its package's;
// advisories are put, withdrawn, put again, and those of private packages
// never listed.
func testReports(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	addPackage(t, db, "npm", "evil")
	file := func(u int64, version, reason string, at time.Time) error {
		return db.Tx(ctx, func(tx *meta.Tx) error {
			_, err := tx.InsertReport(ctx, &meta.Report{UserID: u, Ecosystem: "npm", Name: "evil", Version: version, Category: "malicious", Reason: reason, At: at})
			return err
		})
	}
	for _, r := range []struct {
		u       int64
		version string
	}{{alice.ID, "1.0.0"}, {bob.ID, "1.0.0"}, {bob.ID, ""}} {
		if err := file(r.u, r.version, "bad", now); err != nil {
			t.Fatal(err)
		}
	}
	if err := file(bob.ID, "1.0.0", "again", now); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("a second open report = %v, want ErrConflict", err)
	}
	open, err := db.OpenReports(ctx, 10, 1)
	if err != nil || len(open) != 2 || open[0].Version != "" || open[1].Version != "1.0.0" || open[1].Count != 2 || len(open[1].Reasons) != 1 || open[1].Reporters[0] != "alice" {
		t.Fatalf("OpenReports = %+v, %v", open, err)
	}
	var closed []int64
	tx(t, db, func(tx *meta.Tx) error {
		closed, err = tx.CloseReports(ctx, "npm", "evil", "1.0.0", true, "removed", "root", now)
		return err
	})
	if len(closed) != 2 || closed[0] != alice.ID || closed[1] != bob.ID {
		t.Errorf("CloseReports closed the reports of %v, want alice's and bob's", closed)
	}
	if open, _ := db.OpenReports(ctx, 10, 10); len(open) != 0 {
		t.Errorf("after closing, open reports: %+v", open)
	}
	if err := file(bob.ID, "1.0.0", "anew", now.Add(time.Hour)); err != nil {
		t.Errorf("a new report after the first was closed: %v", err)
	}

	hidden := addPackage(t, db, "npm", "hidden")
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.PutAdvisory(ctx, &meta.Advisory{Ecosystem: "npm", Name: "evil", Version: "1.0.0", Summary: "tokens", Published: now, Modified: now}); err != nil {
			return err
		}
		return tx.PutAdvisory(ctx, &meta.Advisory{Ecosystem: "npm", Name: "hidden", Version: "1.0.0", Summary: "x", Published: now, Modified: now})
	})
	tx(t, db, func(tx *meta.Tx) error { return tx.SetPackagePrivate(ctx, hidden.ID, true) })
	later := now.Add(time.Hour)
	tx(t, db, func(tx *meta.Tx) error {
		ok, err := tx.WithdrawAdvisory(ctx, "npm", "evil", "1.0.0", later)
		if err == nil && !ok {
			t.Error("WithdrawAdvisory found no advisory")
		}
		return err
	})
	as, err := db.Advisories(ctx, 10)
	if err != nil || len(as) != 1 || as[0].Name != "evil" || !as[0].Withdrawn.Equal(later) || !as[0].Modified.Equal(later) || !as[0].Published.Equal(now) {
		t.Fatalf("Advisories = %+v, %v; want evil's, withdrawn", as, err)
	}
	tx(t, db, func(tx *meta.Tx) error {
		return tx.PutAdvisory(ctx, &meta.Advisory{Ecosystem: "npm", Name: "evil", Version: "1.0.0", Summary: "again", Published: later, Modified: later})
	})
	if as, _ := db.Advisories(ctx, 10); len(as) != 1 || !as[0].Withdrawn.IsZero() || as[0].Summary != "again" || !as[0].Published.Equal(now) {
		t.Errorf("put again = %+v; want it current, first published at %v", as[0], now)
	}
}
