package metatest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// testRoles: a user's roles on a package come from their own grant, their
// organisation membership and their teams' grants on the organisation's
// packages; a transfer drops every grant.
func testRoles(t *testing.T, db *meta.DB) {
	alice, bob, carol := addUser(t, db, "alice"), addUser(t, db, "bob"), addUser(t, db, "carol")
	p := addPackage(t, db, "npm", "lib")
	other := addPackage(t, db, "npm", "other")
	acme := &trove.Org{Name: "acme", CreatedAt: now}
	var team *trove.Team
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.InsertOrg(ctx, acme); err != nil {
			return err
		}
		team = &trove.Team{OrgID: acme.ID, Name: "core", CreatedAt: now}
		if err := tx.InsertTeam(ctx, team); err != nil {
			return err
		}
		if err := tx.AddOwner(ctx, p.ID, alice.ID, now); err != nil {
			return err
		}
		if err := tx.SetRole(ctx, p.ID, bob.ID, "maintainer", now); err != nil {
			return err
		}
		if err := tx.SetOrgMember(ctx, acme.ID, carol.ID, "reader", now); err != nil {
			return err
		}
		if err := tx.AddTeamMember(ctx, team.ID, carol.ID, now); err != nil {
			return err
		}
		// A team's grant on a package outside its organisation is not a role.
		if err := tx.SetTeamGrant(ctx, team.ID, p.ID, "owner", now); err != nil {
			return err
		}
		return tx.SetTeamGrant(ctx, team.ID, other.ID, "owner", now)
	})
	roles := func(pkg *trove.Package, u *trove.User) []string {
		t.Helper()
		r, err := db.Roles(ctx, pkg.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(r)
		return r
	}
	if got := roles(p, alice); !slices.Equal(got, []string{"owner"}) {
		t.Errorf("alice's roles = %v, want owner", got)
	}
	if got := roles(p, bob); !slices.Equal(got, []string{"maintainer"}) {
		t.Errorf("bob's roles = %v, want maintainer", got)
	}
	if got := roles(p, carol); len(got) != 0 {
		t.Errorf("carol's roles on a package outside her organisation = %v, want none", got)
	}
	if owners, err := db.Owners(ctx, p.ID); err != nil || len(owners) != 1 || owners[0].Name != "alice" {
		t.Errorf("Owners = %v, %v; want alice only (bob maintains)", owners, err)
	}
	grants, err := db.Grants(ctx, p.ID)
	if diff := cmp.Diff([]trove.Grant{{Name: "alice", Role: "owner"}, {Name: "bob", Role: "maintainer"}}, grants); err != nil || diff != "" {
		t.Errorf("Grants (-want +got), %v:\n%s", err, diff)
	}
	// RemoveOwner removes owners only; RemoveRole any grant.
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.RemoveOwner(ctx, p.ID, bob.ID) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("RemoveOwner(maintainer) = %v, want ErrNotFound", err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.RemoveRole(ctx, p.ID, bob.ID) })
	if got := roles(p, bob); len(got) != 0 {
		t.Errorf("bob's roles after RemoveRole = %v", got)
	}

	// Moving the package into the organisation drops its grants; the
	// organisation's roles and its teams' grants apply.
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.SetPackageOrg(ctx, p.ID, acme.ID); err != nil {
			return err
		}
		return tx.SetTeamGrant(ctx, team.ID, p.ID, "maintainer", now)
	})
	if got := roles(p, carol); !slices.Equal(got, []string{"maintainer", "reader"}) {
		t.Errorf("carol's roles on an organisation package = %v, want maintainer (team) and reader (member)", got)
	}
	if got := roles(p, alice); len(got) != 0 {
		t.Errorf("alice's roles after the transfer = %v, want none", got)
	}
	if pkg, err := db.Package(ctx, "npm", "lib"); err != nil || pkg.OrgID != acme.ID {
		t.Errorf("Package after the transfer = %+v, %v; want org %d", pkg, err, acme.ID)
	}
	if ok, err := db.IsOwner(ctx, p.ID, carol.ID); ok || err != nil {
		t.Errorf("IsOwner(reader) = %v, %v", ok, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetOrgMember(ctx, acme.ID, carol.ID, "owner", now) })
	if ok, err := db.IsOwner(ctx, p.ID, carol.ID); !ok || err != nil {
		t.Errorf("IsOwner(organisation owner) = %v, %v", ok, err)
	}
	if us, err := db.AllOwners(ctx, p.ID); err != nil || len(us) != 1 || us[0].Name != "carol" {
		t.Errorf("AllOwners = %v, %v; want carol, the organisation's owner", us, err)
	}
	// Leaving the organisation leaves its teams too.
	tx(t, db, func(tx *meta.Tx) error { return tx.RemoveOrgMember(ctx, acme.ID, carol.ID) })
	if got := roles(p, carol); len(got) != 0 {
		t.Errorf("carol's roles after leaving = %v", got)
	}
	if m, err := db.TeamMembers(ctx, team.ID); err != nil || len(m) != 0 {
		t.Errorf("team members after carol left = %v, %v", m, err)
	}
}

// testOrgs: organisation names share one space with user names;
// invitations are kept per user and organisation.
func testOrgs(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertOrg(ctx, &trove.Org{Name: "alice", CreatedAt: now}) }); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("InsertOrg(a user's name) = %v, want ErrConflict", err)
	}
	acme := &trove.Org{Name: "acme", CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertOrg(ctx, acme) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertOrg(ctx, &trove.Org{Name: "acme", CreatedAt: now}) }); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("InsertOrg(taken) = %v, want ErrConflict", err)
	}
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.InsertUser(ctx, &trove.User{Name: "acme", Email: "acme@example.test", CreatedAt: now}, "x")
	})
	if !errors.Is(err, meta.ErrConflict) {
		t.Errorf("InsertUser(an organisation's name) = %v, want ErrConflict", err)
	}
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.SetOrgMember(ctx, acme.ID, alice.ID, "owner", now); err != nil {
			return err
		}
		return tx.PutInvitation(ctx, acme.ID, bob.ID, "maintainer", alice.ID, now, now.Add(1e12))
	})
	invs, err := db.InvitationsOfUser(ctx, bob.ID)
	want := []trove.Invitation{{Org: "acme", User: "bob", Role: "maintainer", InvitedBy: "alice", CreatedAt: now, ExpiresAt: now.Add(1e12)}}
	if diff := cmp.Diff(want, invs); err != nil || diff != "" {
		t.Errorf("InvitationsOfUser (-want +got), %v:\n%s", err, diff)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.DeleteInvitation(ctx, acme.ID, bob.ID) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeleteInvitation(ctx, acme.ID, bob.ID) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("DeleteInvitation(none) = %v, want ErrNotFound", err)
	}
	if role, err := db.OrgRole(ctx, acme.ID, bob.ID); role != "" || err != nil {
		t.Errorf("OrgRole(not a member) = %q, %v", role, err)
	}
	if orgs, err := db.OrgsOfUser(ctx, alice.ID); err != nil || len(orgs) != 1 || orgs[0] != (trove.Grant{Name: "acme", Role: "owner"}) {
		t.Errorf("OrgsOfUser(alice) = %v, %v", orgs, err)
	}
}

// testRoleSince checks when a user's roles on a package began: their
// own grant, their organisation's membership, a team's membership and
// grant (the later of the two), the earliest of them; zero for none.
func testRoleSince(t *testing.T, db *meta.DB) {
	alice, bob, carol, dave := addUser(t, db, "alice"), addUser(t, db, "bob"), addUser(t, db, "carol"), addUser(t, db, "dave")
	pkg := addPackage(t, db, trove.NPM, "demo")
	acme := &trove.Org{Name: "acme", CreatedAt: now}
	team := &trove.Team{Name: "core", CreatedAt: now}
	day := 24 * time.Hour
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.InsertOrg(ctx, acme); err != nil {
			return err
		}
		if err := tx.SetPackageOrg(ctx, pkg.ID, acme.ID); err != nil {
			return err
		}
		team.OrgID = acme.ID
		if err := tx.InsertTeam(ctx, team); err != nil {
			return err
		}
		for _, err := range []error{
			tx.SetRole(ctx, pkg.ID, alice.ID, "maintainer", now.Add(-3*day)),
			tx.SetOrgMember(ctx, acme.ID, alice.ID, "member", now.Add(-5*day)),
			tx.SetOrgMember(ctx, acme.ID, bob.ID, "maintainer", now.Add(-2*day)),
			tx.AddTeamMember(ctx, team.ID, carol.ID, now.Add(-9*day)),
			tx.SetTeamGrant(ctx, team.ID, pkg.ID, "maintainer", now.Add(-day)),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		who  *trove.User
		want time.Time
	}{
		{alice, now.Add(-5 * day)}, {bob, now.Add(-2 * day)}, {carol, now.Add(-day)}, {dave, time.Time{}},
	} {
		if got, err := db.RoleSince(ctx, pkg.ID, tc.who.ID); err != nil || !got.Equal(tc.want) {
			t.Errorf("RoleSince(%s) = %v, %v; want %v", tc.who.Name, got, err, tc.want)
		}
	}
}
