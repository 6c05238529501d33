package access_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

// TestRaceCreateRevokeAll: tokens created while all of a user's tokens
// are being revoked are created either before the revocation, and revoked
// by it, or after it: no token created before a revocation stays live.
// On every engine; PostgreSQL runs the writers concurrently.
func TestRaceCreateRevokeAll(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			ctx := context.Background()
			db := engine.Open(t)
			u := &trove.User{Name: "alice", Email: "alice@example.test", CreatedAt: time.Now()}
			if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertUser(ctx, u, "x") }); err != nil {
				t.Fatal(err)
			}
			// A clock that never repeats a reading, so that creation and
			// revocation times order every event.
			var tick atomic.Int64
			base := time.Now().UTC()
			tokens := access.NewTokens(db, func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Microsecond) })
			spec := access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Publish}}
			var wg sync.WaitGroup
			errs := make(chan error, 200)
			start := make(chan struct{})
			created := make(chan struct{}, 100) // a revocation follows a creation
			for range 4 {
				wg.Go(func() {
					<-start
					for range 25 {
						_, _, err := tokens.Create(ctx, u.ID, spec)
						errs <- err
						created <- struct{}{}
					}
				})
			}
			wg.Go(func() {
				<-start
				for range 25 {
					<-created
					_, err := tokens.RevokeAll(ctx, u.ID, access.Revocation{})
					errs <- err
				}
			})
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			checkRevocations(t, db, u.ID)
		})
	}
}

// checkRevocations fails if a live token was created before the latest
// revocation of all tokens.
func checkRevocations(t *testing.T, db *meta.DB, userID int64) {
	t.Helper()
	toks, err := db.TokensOfUser(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for _, tok := range toks {
		if tok.RevokedAt.After(last) {
			last = tok.RevokedAt
		}
	}
	if last.IsZero() {
		t.Fatal("no token was revoked: the race did not happen")
	}
	for _, tok := range toks {
		if tok.RevokedAt.IsZero() && tok.CreatedAt.Before(last) {
			t.Errorf("token %s created at %s is live after a revocation of all tokens at %s", tok.PublicID,
				tok.CreatedAt.Format(time.StampMicro), last.Format(time.StampMicro))
		}
	}
}
