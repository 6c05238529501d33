package registry_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// insertPackages stores packages with the given keys, as rules of an
// older version might have computed them.
func insertPackages(t testing.TB, db *meta.DB, pkgs ...*trove.Package) {
	t.Helper()
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		for _, p := range pkgs {
			p.DisplayName, p.CreatedAt = string(p.Name), time.Unix(1, 0)
			if err := tx.InsertPackage(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRekeyAtStart: New recomputes the look-alike and namespace keys of
// the packages whose rules now compute them differently, in every
// ecosystem it serves, and leaves the packages of other ecosystems alone.
func TestRekeyAtStart(t *testing.T) {
	db, err := meta.OpenSQLite(ctx, filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insertPackages(t, db,
		&trove.Package{Ecosystem: "npm", Name: "left-pad", Skeleton: "left-pad", Namespace: "old"}, // both stale
		&trove.Package{Ecosystem: "npm", Name: "right-pad", Skeleton: "rightpad"},                  // current
		&trove.Package{Ecosystem: "pypi", Name: "py-demo", Skeleton: ""},                           // stale skeleton
		&trove.Package{Ecosystem: "cargo", Name: "not-served", Skeleton: "x", Namespace: "y"},      // not served: kept
	)
	_, err = registry.New(registry.Config{DB: db, Blobs: memblob.New(), Rules: []registry.Rules{rules{"npm"}, rules{"pypi"}},
		TempDir: filepath.Join(t.TempDir(), "tmp")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []trove.Package{
		{Ecosystem: "npm", Name: "left-pad", Skeleton: "leftpad"},
		{Ecosystem: "npm", Name: "right-pad", Skeleton: "rightpad"},
		{Ecosystem: "pypi", Name: "py-demo", Skeleton: "pydemo"},
		{Ecosystem: "cargo", Name: "not-served", Skeleton: "x", Namespace: "y"},
	} {
		p, err := db.Package(ctx, want.Ecosystem, want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Skeleton != want.Skeleton || p.Namespace != want.Namespace {
			t.Errorf("%s %s: skeleton %q, namespace %q; want %q, %q", want.Ecosystem, want.Name, p.Skeleton, p.Namespace, want.Skeleton, want.Namespace)
		}
	}
}

// BenchmarkNewRekey measures New over 50,000 packages whose keys are
// current: the pass over every package that each start makes.
func BenchmarkNewRekey(b *testing.B) {
	db, err := meta.OpenSQLite(ctx, filepath.Join(b.TempDir(), "trove.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var pkgs []*trove.Package
	for i := range 50_000 {
		n := trove.Name(fmt.Sprintf("package-%d", i))
		pkgs = append(pkgs, &trove.Package{Ecosystem: "npm", Name: n, Skeleton: rules{}.Skeleton(n)})
	}
	insertPackages(b, db, pkgs...)
	tmp := filepath.Join(b.TempDir(), "tmp")
	for b.Loop() {
		if _, err := registry.New(registry.Config{DB: db, Blobs: memblob.New(), Rules: []registry.Rules{rules{"npm"}, rules{"pypi"}}, TempDir: tmp}); err != nil {
			b.Fatal(err)
		}
	}
}
