package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// TestRoleRemindersOncePer30Days: with a fake clock, the owners of a
// package and of an organisation whose maintainer and member have been
// inactive for longer than the threshold are reminded once, in one mail
// naming them and how to remove them; not again within 30 days; again
// after; not at all while everyone is active, nor while the review is off.
func TestRoleRemindersOncePer30Days(t *testing.T) {
	ctx := context.Background()
	day := 24 * time.Hour
	e := newEnv(t)
	alice, bob, carol := e.user(t, "alice", true), e.user(t, "bob", true), e.user(t, "carol", true)
	pkg := ownedPackage(t, e, alice)
	acme := &trove.Org{Name: "acme", CreatedAt: e.clk.now()}
	err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.SetRole(ctx, pkg.ID, bob.ID, "maintainer", e.clk.now()); err != nil {
			return err
		}
		if err := tx.InsertOrg(ctx, acme); err != nil {
			return err
		}
		if err := tx.SetOrgMember(ctx, acme.ID, alice.ID, "owner", e.clk.now()); err != nil {
			return err
		}
		return tx.SetOrgMember(ctx, acme.ID, carol.ID, "reader", e.clk.now())
	})
	if err != nil {
		t.Fatal(err)
	}
	active := func(u *trove.User) { // a sign-in now
		t.Helper()
		if err := e.db.Tx(ctx, func(tx *meta.Tx) error {
			_, err := tx.SeeDevice(ctx, u.ID, "Firefox 192.0.2.0/24", e.clk.now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	reminders := func() []*meta.OutboxMail {
		t.Helper()
		all, err := e.db.Outbox(ctx, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var out []*meta.OutboxMail
		for _, m := range all {
			if m.Kind == "role-review" {
				out = append(out, m)
			}
		}
		return out
	}
	run := func(r *account.RoleReminders, want int, why string) []*meta.OutboxMail {
		t.Helper()
		if err := r.Run(ctx); err != nil {
			t.Fatal(err)
		}
		got := reminders()
		if len(got) != want {
			t.Fatalf("%s: %d reminders queued in all, want %d", why, len(got), want)
		}
		return got
	}
	r := account.NewRoleReminders(e.db, e.outbox, 365*day, e.clk.now)
	e.clk.add(300 * day)
	run(r, 0, "everyone active within the year")

	e.clk.add(100 * day) // day 400: bob and carol inactive; alice signs in
	active(alice)
	run(account.NewRoleReminders(e.db, e.outbox, 0, e.clk.now), 0, "the review off")
	got := run(r, 1, "inactive people")
	m := got[0]
	if m.Recipient != "alice@example.test" || !strings.Contains(m.Subject, "2 packages or organisations") {
		t.Errorf("reminder to %s: %q", m.Recipient, m.Subject)
	}
	for _, want := range []string{"bob, maintainer (granted on the package)", "trove owner grant npm demo bob none",
		"carol, reader of the organisation", "trove org remove acme carol", "trove owner review npm demo", "trove org review acme", "365 days"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the reminder does not say %q:\n%s", want, m.Body)
		}
	}
	if strings.Contains(m.Body, "- alice") {
		t.Errorf("the reminder names alice, who is active:\n%s", m.Body)
	}
	run(r, 1, "the same day again")
	e.clk.add(29 * day)
	active(alice)
	run(r, 1, "29 days later")
	e.clk.add(2 * day)
	active(alice)
	run(r, 2, "31 days later")

	// bob signs in: the package is no longer due; carol's organisation is.
	e.clk.add(31 * day)
	active(alice)
	active(bob)
	got = run(r, 3, "62 days later, bob active")
	if last := got[0]; last.Subject != "Trove: inactive people on the organisation acme" || strings.Contains(last.Body, "bob") {
		t.Errorf("the reminder after bob's sign-in: %q\n%s", last.Subject, last.Body)
	}
}
