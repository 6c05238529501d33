package metatest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// testPageQueries checks the queries behind package pages, search and the
// home page: only visible releases count, the newest visible release is a
// package's listing, and per-package reads gather every release's rows.
func testPageQueries(t *testing.T, db *meta.DB) {
	lib, app, gone := addPackage(t, db, "npm", "lib"), addPackage(t, db, "npm", "app"), addPackage(t, db, "npm", "gone")
	addRelease(t, db, lib, "1.0.0", trove.Published)
	l2 := addRelease(t, db, lib, "2.0.0", trove.Yanked)
	addRelease(t, db, lib, "3.0.0", trove.Quarantined)
	a1 := addRelease(t, db, app, "1.0.0", trove.Published)
	addRelease(t, db, gone, "1.0.0", trove.Deleted)
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.InsertDependencies(ctx, a1.ID, "npm", []meta.Dependency{{Name: "lib", Constraint: "^1"}, {Name: "other"}}); err != nil {
			return err
		}
		return tx.InsertDependencies(ctx, l2.ID, "npm", []meta.Dependency{{Name: "util", Constraint: "2"}})
	})
	deps, err := db.PackageDependencies(ctx, app.ID)
	if err != nil || fmt.Sprint(deps) != fmt.Sprintf("[{%d npm lib ^1} {%d npm other }]", a1.ID, a1.ID) {
		t.Errorf("PackageDependencies(app) = %v, %v", deps, err)
	}
	if deps, _ := db.PackageDependencies(ctx, lib.ID); len(deps) != 1 || deps[0].ReleaseID != l2.ID {
		t.Errorf("PackageDependencies(lib) = %v", deps)
	}

	tx(t, db, func(tx *meta.Tx) error {
		for i, v := range []string{"1.0.0", "2.0.0", "1.0.0"} {
			id, err := translog.Append(ctx, tx, []byte(fmt.Sprintf("record %d\n", i)))
			if err != nil {
				return err
			}
			if err := tx.IndexLogRecord(ctx, "npm", "lib", v, []string{"publish", "publish", "yank"}[i], id); err != nil {
				return err
			}
		}
		return nil
	})
	entries, err := db.PackageLogEntries(ctx, "npm", "lib")
	if err != nil || fmt.Sprint(entries) != "[{1.0.0 {0 publish}} {2.0.0 {1 publish}} {1.0.0 {2 yank}}]" {
		t.Errorf("PackageLogEntries(lib) = %v, %v", entries, err)
	}

	var listed []string
	err = db.EachListing(ctx, func(l meta.Listing) error {
		listed = append(listed, fmt.Sprintf("%s@%s:%s", l.Name, l.Version, l.State))
		return nil
	})
	if err != nil || len(listed) != 2 || !contains(listed, "lib@2.0.0:yanked") || !contains(listed, "app@1.0.0:published") {
		t.Errorf("EachListing = %v, %v; want lib's newest visible (2.0.0) and app", listed, err)
	}
	if l, err := db.Listing(ctx, "npm", "lib"); err != nil || l.Version != "2.0.0" || l.DisplayName != "lib" {
		t.Errorf("Listing(lib) = %+v, %v", l, err)
	}
	if _, err := db.Listing(ctx, "npm", "gone"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Listing(gone) error = %v, want ErrNotFound", err)
	}

	recent, err := db.RecentReleases(ctx, 10)
	if err != nil || len(recent) != 2 { // published only: lib 1.0.0, app 1.0.0
		t.Errorf("RecentReleases = %+v, %v", recent, err)
	}
	counts, err := db.Counts(ctx)
	if err != nil || fmt.Sprint(counts) != "[{npm 2 3}]" {
		t.Errorf("Counts = %v, %v; want npm: 2 packages, 3 visible releases", counts, err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
