package metatest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// testTrustedPublishers: publishers by package and by issuer; deleting one
// revokes the live tokens it minted (and only those); the trusted-only
// switch; each (issuer, jti) is used once, also by concurrent
// transactions, and stays used until its expiry, when it is purged.
func testTrustedPublishers(t *testing.T, db *meta.DB) {
	alice := addUser(t, db, "alice")
	pkg := addPackage(t, db, "pypi", "demo")
	p1 := &meta.Publisher{Ecosystem: "pypi", Name: "demo", Kind: "github", Issuer: "github", Claims: `{"repository":"acme/demo"}`,
		CreatedBy: alice.ID, AuthLevel: trove.AuthMFA, CreatedAt: now}
	p2 := &meta.Publisher{Ecosystem: "pypi", Name: "pending", Kind: "generic", Issuer: "ci", Claims: `{"claims":{"a":"b"}}`, CreatedBy: alice.ID, CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return errors.Join(tx.InsertPublisher(ctx, p1), tx.InsertPublisher(ctx, p2)) })
	if ps, err := db.PublishersOf(ctx, "pypi", "demo"); err != nil || len(ps) != 1 || *ps[0] != *p1 {
		t.Errorf("PublishersOf(demo) = %v, %v; want %+v", ps, err, p1)
	}
	if ps, err := db.PublishersOfIssuer(ctx, "ci", "pypi", 10); err != nil || len(ps) != 1 || ps[0].ID != p2.ID {
		t.Errorf("PublishersOfIssuer(ci) = %v, %v; want the pending publisher", ps, err)
	}
	if ps, err := db.PublishersOfIssuer(ctx, "ci", "npm", 10); err != nil || len(ps) != 0 {
		t.Errorf("PublishersOfIssuer(ci, npm) = %v, %v; want none", ps, err)
	}
	if p, err := db.PublisherByID(ctx, p2.ID); err != nil || p.Name != "pending" {
		t.Errorf("PublisherByID = %+v, %v", p, err)
	}

	minted := &trove.Token{PublicID: "m1", Hash: "hm1", UserID: alice.ID, Packages: []string{"pypi:demo"}, Actions: []string{"publish"},
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute), PublisherID: p1.ID}
	own := &trove.Token{PublicID: "o1", Hash: "ho1", UserID: alice.ID, Packages: []string{"*"}, Actions: []string{"publish"}, CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return errors.Join(tx.InsertToken(ctx, minted), tx.InsertToken(ctx, own)) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeletePublisher(ctx, "pypi", "other", p1.ID, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("DeletePublisher of another package's id = %v, want ErrNotFound", err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.DeletePublisher(ctx, "pypi", "demo", p1.ID, now) })
	toks, err := db.TokensOfUser(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if revoked := !tok.RevokedAt.IsZero(); revoked != (tok.PublicID == "m1") {
			t.Errorf("after deleting its publisher, token %s revoked = %v", tok.PublicID, revoked)
		}
		if tok.PublicID == "m1" && tok.PublisherID != p1.ID {
			t.Errorf("minted token's publisher = %d, want %d", tok.PublisherID, p1.ID)
		}
	}
	if ps, _ := db.PublishersOf(ctx, "pypi", "demo"); len(ps) != 0 {
		t.Errorf("PublishersOf after delete = %v", ps)
	}

	tx(t, db, func(tx *meta.Tx) error { return tx.SetTrustedOnly(ctx, pkg.ID, true) })
	if pol, err := db.PackagePolicy(ctx, pkg.ID); err != nil || !pol.TrustedOnly {
		t.Errorf("PackagePolicy after SetTrustedOnly = %+v, %v", pol, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetTrustedOnly(ctx, pkg.ID, false) })
	if pol, _ := db.PackagePolicy(ctx, pkg.ID); pol.TrustedOnly {
		t.Errorf("PackagePolicy after clearing = %+v", pol)
	}

	use := func(jti string, expires, at time.Time) error {
		return db.Tx(ctx, func(tx *meta.Tx) error { return tx.UseJTI(ctx, "https://issuer.test", jti, expires, at) })
	}
	exp := now.Add(6 * time.Minute)
	if err := use("j1", exp, now); err != nil {
		t.Fatal(err)
	}
	if err := use("j1", exp, now); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("UseJTI twice = %v, want ErrConflict", err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.UseJTI(ctx, "https://other.test", "j1", exp, now) }); err != nil {
		t.Errorf("the same jti of another issuer = %v, want nil", err)
	}
	// Until its expiry the row survives the purges of later exchanges.
	if err := use("j2", exp, exp); err != nil {
		t.Fatal(err)
	}
	if err := use("j1", exp, exp); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("UseJTI at its expiry = %v, want ErrConflict (kept until then)", err)
	}
	if err := use("j1", exp.Add(time.Hour), exp.Add(time.Microsecond)); err != nil {
		t.Errorf("UseJTI after its expiry = %v, want nil (purged)", err)
	}

	// Concurrent transactions (replicas): exactly one records a jti.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	for range 8 {
		wg.Go(func() {
			err := use("race", exp, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, meta.ErrConflict):
				conflicts++
			default:
				t.Errorf("concurrent UseJTI: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || conflicts != 7 {
		t.Errorf("concurrent UseJTI: %d recorded, %d conflicts; want 1 and 7", ok, conflicts)
	}
}
