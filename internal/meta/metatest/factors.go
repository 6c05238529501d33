package metatest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/meta"
)

// testFactors checks second factors, recovery codes and WebAuthn
// ceremonies: confirmation, the step compare-and-swap under concurrency,
// single-use codes and ceremonies, unique credential ids and handles.
func testFactors(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	totp := &meta.Factor{UserID: alice.ID, Kind: meta.FactorTOTP, Name: "phone", CreatedAt: now, Secret: "sealed"}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertFactor(ctx, totp) })
	if fs, err := db.Factors(ctx, alice.ID); err != nil || len(fs) != 0 {
		t.Fatalf("Factors before confirmation = %v, %v; want none", fs, err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.AdvanceStep(ctx, totp.ID, 5, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("AdvanceStep of a pending factor = %v, want ErrNotFound", err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.ConfirmFactor(ctx, bob.ID, totp.ID, 10, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("ConfirmFactor by another user = %v, want ErrNotFound", err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.ConfirmFactor(ctx, alice.ID, totp.ID, 10, now) })
	got, err := db.Factor(ctx, alice.ID, totp.ID)
	if err != nil || got.LastStep != 10 || !got.ConfirmedAt.Equal(now) || got.Secret != "sealed" {
		t.Fatalf("Factor after confirmation = %+v, %v", got, err)
	}
	checkStepCAS(t, db, totp.ID)

	cred := &meta.Factor{UserID: alice.ID, Kind: meta.FactorWebAuthn, Name: "key", CreatedAt: now, ConfirmedAt: now,
		CredentialID: "Y3JlZA", Credential: []byte(`{"id":"Y3JlZA"}`)}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertFactor(ctx, cred) })
	dup := &meta.Factor{UserID: bob.ID, Kind: meta.FactorWebAuthn, Name: "stolen", CreatedAt: now, ConfirmedAt: now, CredentialID: "Y3JlZA"}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertFactor(ctx, dup) }); !errors.Is(err, meta.ErrConflict) {
		t.Fatalf("InsertFactor with a taken credential id = %v, want ErrConflict", err)
	}
	tx(t, db, func(tx *meta.Tx) error {
		return tx.UpdateCredential(ctx, cred.ID, []byte(`{"n":2}`), true, now.Add(time.Minute))
	})
	byCred, err := db.FactorByCredential(ctx, "Y3JlZA")
	if err != nil || string(byCred.Credential) != `{"n":2}` || !byCred.CloneWarning || byCred.UserID != alice.ID {
		t.Fatalf("FactorByCredential = %+v, %v", byCred, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.RenameFactor(ctx, alice.ID, cred.ID, "desk key") })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeleteFactor(ctx, bob.ID, cred.ID) }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("DeleteFactor of another user's factor = %v, want ErrNotFound", err)
	}
	fs, err := db.Factors(ctx, alice.ID)
	if err != nil || len(fs) != 2 || fs[1].Name != "desk key" {
		t.Fatalf("Factors = %v, %v", fs, err)
	}
	// An enrolment never confirmed is swept.
	stale := &meta.Factor{UserID: bob.ID, Kind: meta.FactorTOTP, Name: "x", CreatedAt: now.Add(-time.Hour), Secret: "s"}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertFactor(ctx, stale) })
	tx(t, db, func(tx *meta.Tx) error { return tx.DeletePendingFactors(ctx, now.Add(-10*time.Minute)) })
	if _, err := db.Factor(ctx, bob.ID, stale.ID); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("a stale enrolment survived the sweep: %v", err)
	}
	if _, err := db.Factor(ctx, alice.ID, totp.ID); err != nil {
		t.Fatalf("the sweep took a confirmed factor: %v", err)
	}
	testFactorKey(t, db)
	testHandles(t, db, alice.ID, bob.ID)
	testRecoveryCodes(t, db, alice.ID)
	testCeremonies(t, db, alice.ID)
}

// checkStepCAS has many goroutines advance one factor to the same step:
// exactly one may win.
func checkStepCAS(t *testing.T, db *meta.DB, id int64) {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.AdvanceStep(ctx, id, 11, now) })
			if err == nil {
				wins.Add(1)
			} else if !errors.Is(err, meta.ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent AdvanceStep to one step succeeded, want 1", wins.Load())
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.AdvanceStep(ctx, id, 10, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("AdvanceStep to an older step = %v, want ErrNotFound", err)
	}
}

func testHandles(t *testing.T, db *meta.DB, alice, bob int64) {
	t.Helper()
	if h, err := db.WebAuthnHandle(ctx, alice); err != nil || h != "" {
		t.Fatalf("WebAuthnHandle before one is set = %q, %v", h, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetWebAuthnHandle(ctx, alice, "aGFuZGxl") })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetWebAuthnHandle(ctx, alice, "b3RoZXI") }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("replacing a handle = %v, want ErrNotFound", err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetWebAuthnHandle(ctx, bob, "aGFuZGxl") }); !errors.Is(err, meta.ErrConflict) {
		t.Fatalf("a second user with the same handle = %v, want ErrConflict", err)
	}
	u, err := db.UserByWebAuthnHandle(ctx, "aGFuZGxl")
	if err != nil || u.ID != alice {
		t.Fatalf("UserByWebAuthnHandle = %v, %v", u, err)
	}
	if _, err := db.UserByWebAuthnHandle(ctx, "bm9uZQ"); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("UserByWebAuthnHandle(unknown) = %v, want ErrNotFound", err)
	}
}

func testRecoveryCodes(t *testing.T, db *meta.DB, user int64) {
	t.Helper()
	tx(t, db, func(tx *meta.Tx) error { return tx.ReplaceRecoveryCodes(ctx, user, []string{"h1", "h2", "h3"}, now) })
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if db.Tx(ctx, func(tx *meta.Tx) error { return tx.UseRecoveryCode(ctx, user, "h2", now) }) == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("a recovery code was used %d times, want 1", wins.Load())
	}
	if n, err := db.RecoveryCodesLeft(ctx, user); err != nil || n != 2 {
		t.Fatalf("RecoveryCodesLeft = %d, %v; want 2", n, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.ReplaceRecoveryCodes(ctx, user, []string{"h4"}, now) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.UseRecoveryCode(ctx, user, "h1", now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("a replaced code = %v, want ErrNotFound", err)
	}
	if n, err := db.RecoveryCodesLeft(ctx, user); err != nil || n != 1 {
		t.Fatalf("RecoveryCodesLeft after replacing = %d, %v; want 1", n, err)
	}
}

func testCeremonies(t *testing.T, db *meta.DB, user int64) {
	t.Helper()
	c := meta.Ceremony{ID: "c1", UserID: user, Kind: "register", Data: []byte(`{"challenge":"x"}`), ExpiresAt: now.Add(5 * time.Minute)}
	tx(t, db, func(tx *meta.Tx) error { return tx.PutCeremony(ctx, c, now) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { _, err := tx.TakeCeremony(ctx, "c1", "login", now); return err }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("TakeCeremony of the wrong kind = %v, want ErrNotFound", err)
	}
	var got meta.Ceremony
	tx(t, db, func(tx *meta.Tx) (err error) { got, err = tx.TakeCeremony(ctx, "c1", "register", now); return err })
	if diff := cmp.Diff(c, got); diff != "" {
		t.Fatalf("TakeCeremony (-put +took):\n%s", diff)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { _, err := tx.TakeCeremony(ctx, "c1", "register", now); return err }); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("a second TakeCeremony = %v, want ErrNotFound", err)
	}
	old := meta.Ceremony{ID: "c2", Kind: "passkey", Data: []byte(`{}`), ExpiresAt: now.Add(time.Minute)}
	tx(t, db, func(tx *meta.Tx) error { return tx.PutCeremony(ctx, old, now) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error {
		_, err := tx.TakeCeremony(ctx, "c2", "passkey", now.Add(2*time.Minute))
		return err
	}); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("TakeCeremony of an expired ceremony = %v, want ErrNotFound", err)
	}
}

func testFactorKey(t *testing.T, db *meta.DB) {
	t.Helper()
	for _, tc := range []struct{ claim, want string }{{"one", "one"}, {"two", "one"}} {
		var got string
		tx(t, db, func(tx *meta.Tx) (err error) { got, err = tx.ClaimFactorKey(ctx, tc.claim, now); return err })
		if got != tc.want {
			t.Fatalf("ClaimFactorKey(%q) = %q, want %q", tc.claim, got, tc.want)
		}
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetFactorKey(ctx, "two", now) })
	var got string
	tx(t, db, func(tx *meta.Tx) (err error) { got, err = tx.ClaimFactorKey(ctx, "three", now); return err })
	if got != "two" {
		t.Fatalf("after SetFactorKey: %q", got)
	}
}
