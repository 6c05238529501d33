package metatest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// testByteOrder: text sorts byte by byte, whatever the database's
// default collation (the PostgreSQL test databases use an ICU one).
func testByteOrder(t *testing.T, db *meta.DB) {
	names := []trove.Name{"b", "ab", "a_b", "Zed", "a-b"}
	for _, n := range names {
		addRelease(t, db, addPackage(t, db, "npm", n), "1.0.0", trove.Published)
	}
	ps, err := db.Packages(ctx, "npm", meta.Viewer{})
	if err != nil {
		t.Fatal(err)
	}
	var got []trove.Name
	for _, p := range ps {
		got = append(got, p.Name)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Packages ordered %q, want byte order %q", got, want)
	}
}

// testLocks: the lock methods find what they lock, on every engine.
func testLocks(t *testing.T, db *meta.DB) {
	p := addPackage(t, db, "npm", "demo")
	u := addUser(t, db, "alice")
	tok := &trove.Token{PublicID: "p1", Hash: "h1", UserID: u.ID, Packages: []string{"*"}, Actions: []string{"publish"}, CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertToken(ctx, tok) })
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.LockName(ctx, "npm", "@scope"); err != nil {
			return err
		}
		if err := tx.LockUser(ctx, u.ID); err != nil {
			return err
		}
		if got, err := tx.PackageForUpdate(ctx, "npm", "demo"); err != nil || got.ID != p.ID {
			return fmt.Errorf("PackageForUpdate = %v, %v", got, err)
		}
		if err := tx.LockPackage(ctx, p.ID); err != nil {
			return err
		}
		got, err := tx.LiveToken(ctx, tok.ID)
		if err != nil || got.PublicID != "p1" {
			return fmt.Errorf("LiveToken = %v, %v", got, err)
		}
		return nil
	})
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		return errors.Join(
			notFound("LockPackage", tx.LockPackage(ctx, p.ID+100)),
			notFound("LockUser", tx.LockUser(ctx, u.ID+100)),
			notFound("LiveToken", second(tx.LiveToken(ctx, tok.ID+100))),
			notFound("PackageForUpdate", second(tx.PackageForUpdate(ctx, "npm", "missing"))))
	})
	if err != nil {
		t.Error(err)
	}
}

func notFound(what string, err error) error {
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("%s(missing) = %v, want ErrNotFound", what, err)
}

func second[T any](_ T, err error) error { return err }

// testConcurrentAppends: many writers appending to the transparency log
// and the change feed at once leave a contiguous log whose tree verifies,
// and a follower reading the feed as it grows ("id > last") sees every
// change: serials commit in the order they are assigned.
func testConcurrentAppends(t *testing.T, db *meta.DB) {
	const writers, each = 8, 25
	pkgs := make([]*trove.Package, writers)
	for i := range pkgs {
		pkgs[i] = addPackage(t, db, "npm", trove.Name(fmt.Sprintf("p%d", i)))
	}
	done := make(chan struct{})
	seen := make(chan []int64)
	go func() { seen <- follow(db, done) }()
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- db.Tx(ctx, func(tx *meta.Tx) error {
					if _, err := translog.Append(ctx, tx, fmt.Appendf(nil, "writer %d record %d\n", w, i)); err != nil {
						return err
					}
					_, err := tx.AddChange(ctx, pkgs[w], "publish", now)
					return err
				})
			}
		})
	}
	wg.Wait()
	close(done)
	got := <-seen
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent append: %v", err)
		}
	}
	checkLog(t, db, writers*each)
	all, err := db.ChangesSince(ctx, 0, 10*writers*each)
	if err != nil || len(all) != writers*each {
		t.Fatalf("ChangesSince(0) = %d changes, %v; want %d", len(all), err, writers*each)
	}
	var want []int64
	for _, c := range all {
		want = append(want, c.Serial)
	}
	if !slices.Equal(got, want) {
		t.Errorf("a follower saw %d of %d changes: serials committed out of order were skipped", len(got), len(want))
	}
}

// follow reads the change feed as Follow does until done, then once more,
// and returns the serials it saw.
func follow(db *meta.DB, done <-chan struct{}) []int64 {
	var last int64
	var out []int64
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		cs, err := db.ChangesSince(ctx, last, 1000)
		if err != nil {
			return out
		}
		for _, c := range cs {
			out = append(out, c.Serial)
			last = c.Serial
		}
		if finished && len(cs) == 0 {
			return out
		}
	}
}

// checkLog checks that the log holds n contiguous records whose tree
// verifies against every record.
func checkLog(t *testing.T, db *meta.DB, n int64) {
	t.Helper()
	size, err := db.LogSize(ctx)
	if err != nil || size != n {
		t.Fatalf("LogSize = %d, %v; want %d", size, err, n)
	}
	recs, err := db.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatalf("log is not contiguous: %v", err)
	}
	tree, err := translog.TreeOf(ctx, db, n)
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(0); id < n; id += 17 {
		p, err := translog.ProveRecord(ctx, db, id, n)
		if err == nil {
			err = tlog.CheckRecord(p, n, tree.Hash, id, tlog.RecordHash(recs[id]))
		}
		if err != nil {
			t.Errorf("record %d: %v", id, err)
		}
	}
}
