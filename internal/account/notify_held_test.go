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

// TestHeldNotice: a hold is a security event on each account told, and
// its mail says why and what to do; an unverified address gets no mail.
func TestHeldNotice(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice, bob := e.user(t, "alice", true), e.user(t, "bob", false)
	h := account.Held{Ecosystem: "npm", Package: "left-pad", Version: "1.3.1", Publisher: "alice",
		Why: "left-pad 1.3.1 is held for review: the token trove_x published new versions of more than 5 packages within 10m0s"}
	err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		for _, id := range []int64{alice.ID, bob.ID} {
			if err := e.notes.HeldTx(ctx, tx, id, h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := e.deliver(t, 2) // bob's verification link and alice's notice
	var m = got[0]
	if m.To[0] != "alice@example.test" {
		m = got[1]
	}
	if m.Subject != "Trove: npm left-pad 1.3.1 held for review" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Hello alice", "not visible", "Uploaded by:  alice", "more than 5 packages within 10m0s",
		"trove admin held release npm left-pad 1.3.1", base + "/-/account/security", "rejects it"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the notice lacks %q:\n%s", want, m.Body)
		}
	}
	for _, u := range []int64{alice.ID, bob.ID} {
		evs, err := e.notes.List(ctx, u, 10)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, ev := range evs {
			found = found || ev.Kind == account.EventReleaseHeld && strings.Contains(ev.Detail, "npm left-pad 1.3.1 was held for review")
		}
		if !found {
			t.Errorf("user %d's events lack the hold: %+v", u, evs)
		}
	}
}

// TestHeldNoticeToAdmins: administrators who were not told as publisher
// or owner get one mail each saying what to run; a disabled one does not.
func TestHeldNoticeToAdmins(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin := func(name string) *trove.User {
		u, err := e.users.Create(ctx, account.NewUser{Name: name, Email: name + "@example.test", Password: "correct horse battery staple", Verified: true, Admin: true})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	owner, root, other := admin("owner"), admin("root"), admin("other")
	e.user(t, "plain", true)
	if err := e.db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserDisabled(ctx, other.ID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	h := account.Held{Ecosystem: "npm", Package: "left-pad", Version: "1.3.1", Publisher: "owner", Why: "too many packages at once"}
	err := e.db.Tx(ctx, func(tx *meta.Tx) error { return e.notes.HeldAdminsTx(ctx, tx, h, []int64{owner.ID}) })
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for _, m := range e.deliver(t, 1) {
		if strings.Contains(m.Subject, "held for your review") {
			mine = append(mine, m.To[0])
			for _, want := range []string{"Hello root", "too many packages at once", "trove admin held release npm left-pad 1.3.1",
				"trove admin held reject npm left-pad 1.3.1", "trove token revoke --package npm:left-pad"} {
				if !strings.Contains(m.Body, want) {
					t.Errorf("the administrators' notice lacks %q:\n%s", want, m.Body)
				}
			}
		}
	}
	if len(mine) != 1 || mine[0] != root.Email {
		t.Errorf("administrators' notices went to %q, want root's only (owner was told already, other is disabled)", mine)
	}
}

// TestRejectedNotice: an upload the scan job rejected after its publisher
// was told it was held is a security event, and its mail says it was
// discarded and why.
func TestRejectedNotice(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.user(t, "alice", true)
	h := account.Held{Ecosystem: "npm", Package: "left-pad", Version: "1.3.1", Publisher: "alice", Rejected: true,
		Why: "left-pad 1.3.1 was rejected by this registry's scanners and discarded: reject: left-pad-1.3.1.tgz: clamav: Eicar-Signature FOUND"}
	if err := e.db.Tx(ctx, func(tx *meta.Tx) error { return e.notes.HeldTx(ctx, tx, alice.ID, h) }); err != nil {
		t.Fatal(err)
	}
	m := e.deliver(t, 1)[0]
	if m.Subject != "Trove: npm left-pad 1.3.1 rejected by the upload checks" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Hello alice", "They rejected it: it was discarded", "Eicar-Signature FOUND", "upload it again", base + "/-/account/security"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("the notice lacks %q:\n%s", want, m.Body)
		}
	}
	evs, err := e.notes.List(ctx, alice.ID, 10)
	if err != nil || len(evs) == 0 || !strings.Contains(evs[0].Detail, "npm left-pad 1.3.1 was rejected by the scanners") {
		t.Errorf("events = %+v, %v", evs, err)
	}
}
