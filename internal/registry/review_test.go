package registry_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// TestReviewMarksInactive: with a fake clock, an owner's review lists
// everyone with a role on the package, where it comes from and their last
// activity, and marks those inactive for longer than InactiveAfter; a
// publish makes its publisher active again; maintainers, tokens without
// the owners action and tokens scoped elsewhere may not review; an
// administrator may.
func TestReviewMarksInactive(t *testing.T) {
	day := 24 * time.Hour
	db := dbtest.Open(t)
	e := &env{db: db, blobs: memblob.New(), now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	var err error
	e.reg, err = registry.New(registry.Config{DB: db, Blobs: e.blobs, Scan: scan.NewPipeline(),
		Rules: []registry.Rules{rules{"npm"}, rules{"pypi"}}, TempDir: filepath.Join(t.TempDir(), "tmp"),
		Now: func() time.Time { return e.now }, InactiveAfter: 90 * day})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob, root := e.user(t, "alice", false), e.user(t, "bob", false), e.user(t, "root", true)
	e.publish(t, alice, "demo", "1.0", "x")
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "bob", "maintainer"); err != nil {
		t.Fatal(err)
	}
	created := e.now
	e.now = e.now.Add(100 * day)
	e.publish(t, alice, "demo", "1.1", "y")
	rv, err := e.reg.ReviewPackage(ctx, alice, "npm", "demo")
	if err != nil {
		t.Fatal(err)
	}
	want := []registry.Reviewed{
		{User: "alice", Role: "owner", Via: "package", LastActive: e.now},
		{User: "bob", Role: "maintainer", Via: "package", LastActive: created, Inactive: true},
	}
	if rv.InactiveAfter != 90*day || len(rv.People) != len(want) {
		t.Fatalf("review = %+v, want %+v", rv, want)
	}
	for i, p := range rv.People {
		if p.User != want[i].User || p.Role != want[i].Role || p.Via != want[i].Via || !p.LastActive.Equal(want[i].LastActive) || p.Inactive != want[i].Inactive {
			t.Errorf("review[%d] = %+v, want %+v", i, p, want[i])
		}
	}
	// bob publishes: active again.
	e.publish(t, bob, "demo", "1.2", "z")
	if rv, err := e.reg.ReviewPackage(ctx, root, "npm", "demo"); err != nil || rv.People[1].Inactive {
		t.Errorf("review by an administrator after bob's publish = %+v, %v; want bob active", rv, err)
	}

	publishOnly := *alice
	publishOnly.Actions = []access.Action{access.Read, access.Publish}
	scoped := *alice
	scoped.Packages = []access.Pattern{"npm:other"}
	for what, who := range map[string]*access.Principal{"a maintainer": bob, "a publish-only token": &publishOnly, "a token scoped elsewhere": &scoped} {
		if _, err := e.reg.ReviewPackage(ctx, who, "npm", "demo"); !errors.Is(err, access.ErrDenied) {
			t.Errorf("ReviewPackage by %s = %v, want ErrDenied", what, err)
		}
	}
	if _, err := e.reg.ReviewPackage(ctx, nil, "npm", "demo"); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("ReviewPackage without a token = %v, want ErrUnauthenticated", err)
	}
	if _, err := e.reg.ReviewPackage(ctx, alice, "npm", "nope"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("ReviewPackage of a missing package = %v, want ErrNotFound", err)
	}
}
