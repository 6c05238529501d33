package metatest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// testReview: a user's last activity is the newest of their account's
// creation, sign-ins, web sessions, their own tokens' use and their
// releases; the holdings of a package and an organisation name where each
// role comes from; InactiveHoldings lists those of users inactive since a
// cutoff; the reminder ledger records the last reminder.
func testReview(t *testing.T, db *meta.DB) {
	day := 24 * time.Hour
	alice, bob, carol := addUser(t, db, "alice"), addUser(t, db, "bob"), addUser(t, db, "carol")
	p := addPackage(t, db, "npm", "lib")
	acme := &trove.Org{Name: "acme", CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.InsertOrg(ctx, acme); err != nil {
			return err
		}
		team := &trove.Team{OrgID: acme.ID, Name: "core", CreatedAt: now}
		if err := tx.InsertTeam(ctx, team); err != nil {
			return err
		}
		if err := tx.SetPackageOrg(ctx, p.ID, acme.ID); err != nil {
			return err
		}
		if err := tx.SetOrgMember(ctx, acme.ID, alice.ID, "owner", now); err != nil {
			return err
		}
		if err := tx.SetOrgMember(ctx, acme.ID, carol.ID, "reader", now); err != nil {
			return err
		}
		if err := tx.AddTeamMember(ctx, team.ID, carol.ID, now); err != nil {
			return err
		}
		if err := tx.SetTeamGrant(ctx, team.ID, p.ID, "maintainer", now); err != nil {
			return err
		}
		return tx.SetRole(ctx, p.ID, bob.ID, "maintainer", now)
	})
	want := []meta.Holding{
		{PackageID: p.ID, OrgID: acme.ID, UserID: alice.ID, User: "alice", Role: "owner", Via: "org"},
		{PackageID: p.ID, UserID: bob.ID, User: "bob", Role: "maintainer", Via: "package"},
		{PackageID: p.ID, OrgID: acme.ID, UserID: carol.ID, User: "carol", Role: "reader", Via: "org"},
		{PackageID: p.ID, UserID: carol.ID, User: "carol", Role: "maintainer", Via: "team core"},
	}
	got, err := db.PackageHoldings(ctx, p.ID)
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Errorf("PackageHoldings (-want +got), %v:\n%s", err, diff)
	}
	got, err = db.OrgHoldings(ctx, acme.ID)
	wantOrg := []meta.Holding{
		{OrgID: acme.ID, UserID: alice.ID, User: "alice", Role: "owner", Via: "org"},
		{OrgID: acme.ID, UserID: carol.ID, User: "carol", Role: "reader", Via: "org"},
	}
	if diff := cmp.Diff(wantOrg, got); err != nil || diff != "" {
		t.Errorf("OrgHoldings (-want +got), %v:\n%s", err, diff)
	}
	if owners, err := db.OrgOwners(ctx, acme.ID); err != nil || len(owners) != 1 || owners[0].Name != "alice" {
		t.Errorf("OrgOwners = %v, %v; want alice", owners, err)
	}

	// Activity: the account's creation at first, then each later record.
	activity := func(u *trove.User) time.Time {
		t.Helper()
		at, err := db.LastActivity(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	if got := activity(bob); !got.Equal(now) {
		t.Errorf("bob's activity = %v, want his account's creation %v", got, now)
	}
	tok := &trove.Token{PublicID: "tok1", Hash: "h1", UserID: bob.ID, Packages: []string{"*"}, Actions: []string{"read"}, CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertToken(ctx, tok) })
	tx(t, db, func(tx *meta.Tx) error { return tx.TouchToken(ctx, tok.ID, now.Add(10*day), time.Minute) })
	if got := activity(bob); !got.Equal(now.Add(10 * day)) {
		t.Errorf("bob's activity after using a token = %v, want %v", got, now.Add(10*day))
	}
	tx(t, db, func(tx *meta.Tx) error {
		_, err := tx.SeeDevice(ctx, carol.ID, "firefox 10.0.0.0/24", now.Add(20*day))
		return err
	})
	if got := activity(carol); !got.Equal(now.Add(20 * day)) {
		t.Errorf("carol's activity after signing in = %v, want %v", got, now.Add(20*day))
	}
	r := &trove.Release{PackageID: p.ID, Version: "1.0.0", VersionKey: "1.0.0", State: trove.Published, Metadata: []byte(`{}`),
		PublisherID: alice.ID, CreatedAt: now.Add(30 * day)}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertRelease(ctx, r) })
	if got := activity(alice); !got.Equal(now.Add(30 * day)) {
		t.Errorf("alice's activity after publishing = %v, want %v", got, now.Add(30*day))
	}

	// Inactive since day 15: bob (his token, day 10), with his grant.
	got, err = db.InactiveHoldings(ctx, now.Add(15*day))
	if diff := cmp.Diff(want[1:2], got); err != nil || diff != "" {
		t.Errorf("InactiveHoldings(day 15) (-want +got), %v:\n%s", err, diff)
	}
	// Since day 25: carol too, as a member and through her team.
	got, err = db.InactiveHoldings(ctx, now.Add(25*day))
	wantInactive := []meta.Holding{
		{OrgID: acme.ID, UserID: carol.ID, User: "carol", Role: "reader", Via: "org"},
		want[1], want[3],
	}
	if diff := cmp.Diff(wantInactive, got); err != nil || diff != "" {
		t.Errorf("InactiveHoldings(day 25) (-want +got), %v:\n%s", err, diff)
	}

	// The reminder ledger.
	if at, err := db.ReminderSent(ctx, alice.ID, "org:1"); err != nil || !at.IsZero() {
		t.Errorf("ReminderSent before any = %v, %v", at, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetReminderSent(ctx, alice.ID, "org:1", now) })
	tx(t, db, func(tx *meta.Tx) error { return tx.SetReminderSent(ctx, alice.ID, "org:1", now.Add(day)) })
	if at, err := db.ReminderSent(ctx, alice.ID, "org:1"); err != nil || !at.Equal(now.Add(day)) {
		t.Errorf("ReminderSent = %v, %v; want %v", at, err, now.Add(day))
	}
}
