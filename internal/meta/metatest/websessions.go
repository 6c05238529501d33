package metatest

import (
	"errors"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

func testWebSessions(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	mk := func(u *trove.User, hash string) *meta.WebSession {
		s := &meta.WebSession{Hash: hash, UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(12 * time.Hour),
			Level: trove.AuthPassword, Pending: true, Client: "192.0.2.1", UserAgent: "test"}
		tx(t, db, func(tx *meta.Tx) error { return tx.InsertWebSession(ctx, s) })
		return s
	}
	a1, a2, b1 := mk(alice, "a1"), mk(alice, "a2"), mk(bob, "b1")
	if err := db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.InsertWebSession(ctx, &meta.WebSession{Hash: "a1", UserID: alice.ID})
	}); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("duplicate hash: %v, want ErrConflict", err)
	}
	got, err := db.WebSessionByHash(ctx, "a1")
	if err != nil || got.ID != a1.ID || !got.Pending || got.Level != trove.AuthPassword || got.Client != "192.0.2.1" || !got.ExpiresAt.Equal(a1.ExpiresAt) {
		t.Fatalf("WebSessionByHash = %+v, %v", got, err)
	}
	tx(t, db, func(tx *meta.Tx) error {
		return tx.PassWebSession(ctx, a1.ID, trove.AuthPhishingResistant, now.Add(10*time.Minute))
	})
	tx(t, db, func(tx *meta.Tx) error { return tx.TouchWebSession(ctx, a1.ID, now.Add(time.Minute)) })
	got, _ = db.WebSessionByHash(ctx, "a1")
	if got.Pending || got.Level != trove.AuthPhishingResistant || !got.SudoUntil.Equal(now.Add(10*time.Minute)) || !got.LastSeenAt.Equal(now.Add(time.Minute)) {
		t.Errorf("after Pass and Touch: %+v", got)
	}
	// One user cannot revoke another's session.
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.RevokeWebSession(ctx, alice.ID, b1.ID, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("revoking another user's session: %v, want ErrNotFound", err)
	}
	var n int
	tx(t, db, func(tx *meta.Tx) (err error) {
		n, err = tx.RevokeWebSessionsOfUser(ctx, alice.ID, a1.ID, now)
		return err
	})
	if n != 1 {
		t.Errorf("RevokeWebSessionsOfUser keeping a1 revoked %d, want 1", n)
	}
	list, err := db.WebSessionsOfUser(ctx, alice.ID, now)
	if err != nil || len(list) != 1 || list[0].ID != a1.ID {
		t.Errorf("WebSessionsOfUser = %v, %v; want a1 only (a2 %d revoked)", list, err, a2.ID)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SudoWebSession(ctx, a2.ID, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("sudo on a revoked session: %v, want ErrNotFound", err)
	}
	// Sessions a day past their end are removed by the next insert.
	mk(bob, "later").CreatedAt = now
	tx(t, db, func(tx *meta.Tx) error {
		return tx.InsertWebSession(ctx, &meta.WebSession{Hash: "much-later", UserID: bob.ID, CreatedAt: now.Add(48 * time.Hour),
			LastSeenAt: now.Add(48 * time.Hour), ExpiresAt: now.Add(60 * time.Hour), Level: trove.AuthPassword})
	})
	if _, err := db.WebSessionByHash(ctx, "b1"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("long-ended session still stored: %v", err)
	}
}

func testUserDisabled(t *testing.T, db *meta.DB) {
	alice := addUser(t, db, "alice")
	addUser(t, db, "bob")
	addUser(t, db, "carol")
	tx(t, db, func(tx *meta.Tx) error { return tx.SetUserDisabled(ctx, alice.ID, now) })
	tx(t, db, func(tx *meta.Tx) error { return tx.SetPasswordReset(ctx, alice.ID, true) })
	u, err := db.UserByID(ctx, alice.ID)
	if err != nil || !u.DisabledAt.Equal(now) || !u.Disabled() || !u.PasswordReset {
		t.Fatalf("UserByID = %+v, %v", u, err)
	}
	if u, _, err := db.PasswordHash(ctx, "alice"); err != nil || !u.Disabled() {
		t.Errorf("PasswordHash user = %+v, %v", u, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetUserDisabled(ctx, alice.ID, time.Time{}) })
	if u, _ := db.UserByID(ctx, alice.ID); u.Disabled() {
		t.Error("re-enabled user still disabled")
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserDisabled(ctx, 9999, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("disabling an unknown user: %v", err)
	}
	page, err := db.UsersPage(ctx, "alice", 1)
	if err != nil || len(page) != 1 || page[0].Name != "bob" {
		t.Errorf("UsersPage(after alice, 1) = %v, %v", page, err)
	}
}

// fillWeb puts a live and a revoked web session in the database, with
// every nullable column NULL in one and set in the other, and disables
// bob with a forced password reset.
func fillWeb(tx *meta.Tx, alice, bob int64) error {
	if err := tx.InsertWebSession(ctx, &meta.WebSession{Hash: "w1", UserID: alice, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour), Level: trove.AuthMFA, Client: "192.0.2.1", UserAgent: "Mozilla/5.0 (é)"}); err != nil {
		return err
	}
	w2 := &meta.WebSession{Hash: "w2", UserID: bob, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
		Level: trove.AuthPassword, Pending: true, SudoUntil: now.Add(time.Minute)}
	if err := tx.InsertWebSession(ctx, w2); err != nil {
		return err
	}
	if err := tx.RevokeWebSession(ctx, bob, w2.ID, now); err != nil {
		return err
	}
	if err := tx.SetUserDisabled(ctx, bob, now); err != nil {
		return err
	}
	return tx.SetPasswordReset(ctx, bob, true)
}
