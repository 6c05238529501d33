package metatest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// testRecovery: the email change, the lookup by address, and reset
// tokens that work once, before they expire, and end together.
func testRecovery(t *testing.T, db *meta.DB) {
	u := addUser(t, db, "alice")
	addUser(t, db, "bob")
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserEmail(ctx, 999, "x@y.test") }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("email of a missing user = %v, want ErrNotFound", err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetUserEmail(ctx, u.ID, "alice@new.test") })
	if got, _ := db.UserByID(ctx, u.ID); got.Email != "alice@new.test" {
		t.Fatalf("email = %q", got.Email)
	}
	if us, err := db.UsersByEmail(ctx, "ALICE@new.test"); err != nil || len(us) != 1 || us[0].ID != u.ID {
		t.Fatalf("UsersByEmail = %v, %v", us, err)
	}
	if us, err := db.UsersByEmail(ctx, "nobody@new.test"); err != nil || len(us) != 0 {
		t.Fatalf("UsersByEmail(unknown) = %v, %v", us, err)
	}
	if r, err := db.PasswordResetByHash(ctx, "h1"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("PasswordResetByHash before insert = %v, %v", r, err)
	}

	r := meta.PasswordReset{TokenHash: "h1", UserID: u.ID, Email: "alice@new.test", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertPasswordReset(ctx, r) })
	r2 := r
	r2.TokenHash, r2.CreatedAt = "h2", now.Add(time.Minute)
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertPasswordReset(ctx, r2) })
	if n, err := db.CountPasswordResets(ctx, u.ID, now.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("CountPasswordResets = %d, %v; want 1", n, err)
	}
	use := func(hash string, at time.Time) (*meta.PasswordReset, error) {
		var got *meta.PasswordReset
		err := db.Tx(ctx, func(tx *meta.Tx) error {
			var err error
			got, err = tx.UsePasswordReset(ctx, hash, at)
			return err
		})
		return got, err
	}
	if _, err := use("h1", now.Add(time.Hour)); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("an expired reset = %v, want ErrNotFound", err)
	}
	// Of concurrent uses, one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 4 {
		wg.Go(func() {
			if got, err := use("h1", now.Add(time.Minute)); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
				if got.UserID != u.ID || got.Email != "alice@new.test" || !got.UsedAt.Equal(now.Add(time.Minute)) {
					t.Errorf("used reset = %+v", got)
				}
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent uses of one reset succeeded, want 1", wins)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.EndPasswordResets(ctx, u.ID, now.Add(2*time.Minute)) })
	if _, err := use("h2", now.Add(3*time.Minute)); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("a reset ended by EndPasswordResets = %v, want ErrNotFound", err)
	}
	if _, err := use("nope", now); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("an unknown reset = %v, want ErrNotFound", err)
	}
}

// testEmailDomains: verdicts replace each other, but the first time a
// domain was seen dead stays.
func testEmailDomains(t *testing.T, db *meta.DB) {
	if _, err := db.EmailDomainByName(ctx, "x.test"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("unknown domain = %v, want ErrNotFound", err)
	}
	put := func(d meta.EmailDomain) { tx(t, db, func(tx *meta.Tx) error { return tx.PutEmailDomain(ctx, d) }) }
	put(meta.EmailDomain{Domain: "x.test", Status: "alive", CheckedAt: now})
	put(meta.EmailDomain{Domain: "y.test", Status: "alive", CheckedAt: now})
	if d, _ := db.EmailDomainByName(ctx, "x.test"); d.Status != "alive" || !d.DeadSince.IsZero() || !d.CheckedAt.Equal(now) {
		t.Fatalf("got %+v", d)
	}
	dead := now.Add(time.Hour)
	put(meta.EmailDomain{Domain: "x.test", Status: "dead", Reason: "gone", CheckedAt: dead})
	put(meta.EmailDomain{Domain: "x.test", Status: "dead", Reason: "gone", CheckedAt: dead.Add(time.Hour)})
	put(meta.EmailDomain{Domain: "x.test", Status: "alive", CheckedAt: dead.Add(2 * time.Hour)})
	d, err := db.EmailDomainByName(ctx, "x.test")
	if err != nil || d.Status != "alive" || !d.DeadSince.Equal(dead) || d.Reason != "" {
		t.Fatalf("after dead then alive: %+v, %v; want alive, dead since %v", d, err, dead)
	}
	all, err := db.EmailDomains(ctx)
	if err != nil || len(all) != 2 || all[0].Domain != "x.test" || all[1].Domain != "y.test" {
		t.Fatalf("EmailDomains = %v, %v", all, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.ClearEmailDomain(ctx, "x.test") })
	if _, err := db.EmailDomainByName(ctx, "x.test"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("cleared domain = %v, want ErrNotFound", err)
	}
}
