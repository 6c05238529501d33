package registry_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// newOrgEnv is newEnvOn with the names acme-* reserved for the
// organisation acme.
func newOrgEnv(t *testing.T, db *meta.DB) *env {
	t.Helper()
	e := &env{db: db, blobs: memblob.New(), now: newEnv(t).now}
	var err error
	e.reg, err = registry.New(registry.Config{DB: db, Blobs: e.blobs, Scan: scan.NewPipeline(),
		Rules: []registry.Rules{rules{"npm"}, rules{"pypi"}}, TempDir: filepath.Join(t.TempDir(), "tmp"), Now: func() time.Time { return e.now },
		Reserved: []registry.Reservation{{Pattern: "npm:acme-*", Org: "acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMaintainerPublishesNotOwners: a maintainer publishes, yanks and
// tags, and cannot change owners, roles or settings; granting the role is
// not a public record, and making an owner is.
func TestMaintainerPublishesNotOwners(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.user(t, "alice", false), e.user(t, "bob", false), e.user(t, "carol", false)
	e.publish(t, alice, "demo", "1.0", "x")
	n := logSize(t, e)
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "bob", "maintainer"); err != nil {
		t.Fatal(err)
	}
	if m := logSize(t, e); m != n {
		t.Errorf("granting maintainer appended %d log records, want none", m-n)
	}
	e.publish(t, bob, "demo", "1.1", "y")
	target := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0"}
	if err := e.reg.Deprecate(ctx, bob, target, "old"); err != nil {
		t.Errorf("Deprecate by a maintainer: %v", err)
	}
	if err := e.reg.SetDistTag(ctx, bob, target, "stable"); err != nil {
		t.Errorf("SetDistTag by a maintainer: %v", err)
	}
	for what, err := range map[string]error{
		"AddOwner":       e.reg.AddOwner(ctx, bob, "npm", "demo", "carol"),
		"RemoveOwner":    e.reg.RemoveOwner(ctx, bob, "npm", "demo", "alice"),
		"Grant":          e.reg.Grant(ctx, bob, "npm", "demo", "carol", "maintainer"),
		"SetPublishAuth": e.reg.SetPublishAuth(ctx, bob, "npm", "demo", trove.AuthPhishingResistant),
	} {
		if !errors.Is(err, access.ErrDenied) {
			t.Errorf("%s by a maintainer = %v, want ErrDenied", what, err)
		}
	}
	if got := ownerNames(t, e, "demo"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("owners after a maintainer's attempts = %v, want alice", got)
	}
	// A token without the owners action cannot change owners, even an owner's.
	publishOnly := *alice
	publishOnly.Actions = []access.Action{access.Read, access.Publish, access.Yank}
	if err := e.reg.AddOwner(ctx, &publishOnly, "npm", "demo", "carol"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("AddOwner with a publish token = %v, want ErrDenied", err)
	}
	// A reader cannot publish.
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "carol", "reader"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Publish(ctx, carol, e.upload(t, "demo", "2.0", map[string]string{"demo-2.0.tgz": "z"})); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Publish by a reader = %v, want ErrDenied", err)
	}
	// Promoting to owner is an owner change, logged; demoting one is too.
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "bob", "owner"); err != nil {
		t.Fatal(err)
	}
	if _, ev := lastEvent(t, e); ev.Kind != "owner" || len(ev.Owners) != 1 || ev.Owners[0] != (translog.OwnerChange{Add: true, User: "bob"}) {
		t.Errorf("promotion record = %+v", ev)
	}
	if err := e.reg.Grant(ctx, bob, "npm", "demo", "alice", "maintainer"); err != nil {
		t.Fatal(err)
	}
	if _, ev := lastEvent(t, e); len(ev.Owners) != 1 || ev.Owners[0] != (translog.OwnerChange{User: "alice"}) {
		t.Errorf("demotion record = %+v", ev)
	}
	if err := e.reg.Grant(ctx, bob, "npm", "demo", "bob", "maintainer"); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("the last owner demoting themselves = %v, want ErrInvalid", err)
	}
	a, err := e.reg.Access(ctx, "npm", "demo")
	want := []trove.Grant{{Name: "alice", Role: "maintainer"}, {Name: "bob", Role: "owner"}, {Name: "carol", Role: "reader"}}
	if err != nil || !slices.Equal(a.Users, want) || a.Org != "" {
		t.Errorf("Access = %+v, %v; want users %v", a, err, want)
	}
	if err := e.reg.Grant(ctx, bob, "npm", "demo", "carol", "admin"); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("Grant(unknown role) = %v, want ErrInvalid", err)
	}
}

// join invites the user to acme with the role and has them accept.
func join(t *testing.T, e *env, owner, who *access.Principal, role string) {
	t.Helper()
	if err := e.reg.Invite(ctx, owner, "acme", who.UserName, role); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Answer(ctx, who, "acme", true); err != nil {
		t.Fatal(err)
	}
}

// TestOrgs: an organisation's creator owns it; people join by accepting
// invitations; its namespace's packages belong to it and its members'
// and teams' roles apply; the last owner cannot leave. On every engine.
func TestOrgs(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) { testOrgs(t, newOrgEnv(t, engine.Open(t))) })
	}
}

func testOrgs(t *testing.T, e *env) {
	alice, bob, carol, dave := e.user(t, "alice", false), e.user(t, "bob", false), e.user(t, "carol", false), e.user(t, "dave", false)
	if _, err := e.reg.CreateOrg(ctx, alice, "acme"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]error{"acme": trove.ErrExists, "bob": trove.ErrExists, "Bad Name": trove.ErrInvalid} {
		if _, err := e.reg.CreateOrg(ctx, bob, name); !errors.Is(err, want) {
			t.Errorf("CreateOrg(%q) = %v, want %v", name, err, want)
		}
	}
	// Invitations: bob is not a member until he accepts.
	if err := e.reg.Invite(ctx, alice, "acme", "bob", "maintainer"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Org(ctx, bob, "acme"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Org by an invitee = %v, want ErrNotFound", err)
	}
	if err := e.reg.Invite(ctx, bob, "acme", "carol", "owner"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Invite by a non-member = %v, want ErrNotFound", err)
	}
	if invs, err := e.reg.Invitations(ctx, bob); err != nil || len(invs) != 1 || invs[0].Role != "maintainer" || invs[0].InvitedBy != "alice" {
		t.Errorf("Invitations(bob) = %+v, %v", invs, err)
	}
	if err := e.reg.Answer(ctx, carol, "acme", true); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Answer without an invitation = %v, want ErrNotFound", err)
	}
	if err := e.reg.Answer(ctx, bob, "acme", true); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Invite(ctx, alice, "acme", "bob", "owner"); !errors.Is(err, trove.ErrExists) {
		t.Errorf("Invite(a member) = %v, want ErrExists", err)
	}
	if err := e.reg.Invite(ctx, bob, "acme", "carol", "reader"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Invite by a maintainer = %v, want ErrDenied", err)
	}
	join(t, e, alice, carol, "reader")
	// dave declines.
	if err := e.reg.Invite(ctx, alice, "acme", "dave", "owner"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Answer(ctx, dave, "acme", false); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Answer(ctx, dave, "acme", true); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("accepting a declined invitation = %v, want ErrNotFound", err)
	}

	// The reservation's packages belong to acme: its maintainers create
	// them, its readers and outsiders cannot.
	e.publish(t, bob, "acme-lib", "1.0", "x")
	if _, ev := lastOwnerEvent(t, e, "acme-lib"); len(ev.Owners) != 1 || ev.Owners[0] != (translog.OwnerChange{Add: true, User: "org:acme"}) {
		t.Errorf("first owner record of acme-lib = %+v, want org:acme", ev)
	}
	for _, who := range []*access.Principal{carol, dave} {
		if _, err := e.reg.Publish(ctx, who, e.upload(t, "acme-new", "1.0", map[string]string{"acme-new-1.0.tgz": "n"})); !errors.Is(err, access.ErrDenied) {
			t.Errorf("Publish(acme-new) by %s = %v, want ErrDenied", who.UserName, err)
		}
	}
	e.publish(t, bob, "acme-lib", "1.1", "y") // a maintainer through the organisation
	if err := e.reg.AddOwner(ctx, bob, "npm", "acme-lib", "dave"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("AddOwner by an organisation maintainer = %v, want ErrDenied", err)
	}
	if err := e.reg.AddOwner(ctx, alice, "npm", "acme-lib", "dave"); err != nil {
		t.Errorf("AddOwner by an organisation owner: %v", err)
	}

	// Teams grant roles on some of the organisation's packages.
	if err := e.reg.CreateTeam(ctx, alice, "acme", "core"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.SetTeamMember(ctx, alice, "acme", "core", "dave", true); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("adding a non-member to a team = %v, want ErrNotFound", err)
	}
	if err := e.reg.SetTeamMember(ctx, alice, "acme", "core", "carol", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Publish(ctx, carol, e.upload(t, "acme-lib", "1.2", map[string]string{"acme-lib-1.2.tgz": "z"})); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Publish by a reader before the team grant = %v, want ErrDenied", err)
	}
	if err := e.reg.GrantTeam(ctx, alice, "npm", "acme-lib", "core", "maintainer"); err != nil {
		t.Fatal(err)
	}
	e.publish(t, carol, "acme-lib", "1.2", "z")
	if v, err := e.reg.Org(ctx, carol, "acme"); err != nil || len(v.Teams) != 1 || !slices.Equal(v.Teams[0].Members, []string{"carol"}) || len(v.Members) != 3 {
		t.Errorf("Org = %+v, %v", v, err)
	}

	// The last owner can neither leave, nor be demoted.
	if err := e.reg.RemoveMember(ctx, alice, "acme", "alice"); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("the last owner leaving = %v, want ErrInvalid", err)
	}
	if err := e.reg.SetMemberRole(ctx, alice, "acme", "alice", "maintainer"); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("demoting the last owner = %v, want ErrInvalid", err)
	}
	// A member leaves, and loses the team's roles with the membership.
	if err := e.reg.RemoveMember(ctx, carol, "acme", "carol"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Publish(ctx, carol, e.upload(t, "acme-lib", "1.3", map[string]string{"acme-lib-1.3.tgz": "w"})); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Publish by a member who left = %v, want ErrDenied", err)
	}
}

// lastOwnerEvent returns the newest owner record of the package.
func lastOwnerEvent(t *testing.T, e *env, name string) (int64, *translog.Event) {
	t.Helper()
	entries, err := e.db.LogEntries(ctx, "npm", trove.Name(name), "")
	if err != nil {
		t.Fatal(err)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Kind == "owner" {
			text, err := e.db.ReadLogRecords(ctx, entries[i].ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := translog.ParseEvent(text[0])
			if err != nil {
				t.Fatal(err)
			}
			return entries[i].ID, ev
		}
	}
	t.Fatalf("no owner record of %s", name)
	return 0, nil
}

// TestTransfer: a package moves to an organisation and back out, its
// grants recomputed and each move logged as owner changes. On every engine.
func TestTransfer(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) { testTransfer(t, newOrgEnv(t, engine.Open(t))) })
	}
}

func testTransfer(t *testing.T, e *env) {
	alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
	if _, err := e.reg.CreateOrg(ctx, alice, "acme"); err != nil {
		t.Fatal(err)
	}
	join(t, e, alice, bob, "maintainer")
	e.publish(t, alice, "demo", "1.0", "x")
	e.publish(t, bob, "bobs", "1.0", "b")
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "bob", "reader"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Transfer(ctx, bob, "npm", "bobs", registry.Transfer{Org: "acme"}); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Transfer to an organisation its maintainer does not own = %v, want ErrDenied", err)
	}
	if err := e.reg.Transfer(ctx, alice, "npm", "demo", registry.Transfer{Org: "acme"}); err != nil {
		t.Fatal(err)
	}
	_, ev := lastEvent(t, e)
	want := []translog.OwnerChange{{User: "alice"}, {Add: true, User: "org:acme"}}
	if ev.Kind != "owner" || !slices.Equal(ev.Owners, want) {
		t.Errorf("transfer record = %+v, want owners %v", ev, want)
	}
	a, err := e.reg.Access(ctx, "npm", "demo")
	if err != nil || a.Org != "acme" || len(a.Users) != 0 {
		t.Errorf("Access after the transfer = %+v, %v; want acme's, no user grants", a, err)
	}
	e.publish(t, bob, "demo", "1.1", "y") // a maintainer of acme
	if err := e.reg.Transfer(ctx, bob, "npm", "demo", registry.Transfer{User: "bob"}); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Transfer out by a maintainer = %v, want ErrDenied", err)
	}
	if err := e.reg.Transfer(ctx, alice, "npm", "demo", registry.Transfer{User: "bob"}); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Transfer out to another user = %v, want ErrDenied", err)
	}
	if err := e.reg.Transfer(ctx, alice, "npm", "demo", registry.Transfer{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	_, ev = lastEvent(t, e)
	want = []translog.OwnerChange{{User: "org:acme"}, {Add: true, User: "alice"}}
	if !slices.Equal(ev.Owners, want) {
		t.Errorf("transfer-out record = %+v, want owners %v", ev.Owners, want)
	}
	if _, err := e.reg.Publish(ctx, bob, e.upload(t, "demo", "1.2", map[string]string{"demo-1.2.tgz": "z"})); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Publish by acme's maintainer after the package left = %v, want ErrDenied", err)
	}
	if got := ownerNames(t, e, "demo"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("owners after the transfer out = %v, want alice", got)
	}
	if err := e.reg.Transfer(ctx, alice, "npm", "demo", registry.Transfer{}); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("Transfer to nobody = %v, want ErrInvalid", err)
	}
}

// TestRaceOrgLastOwner: two owners of an organisation removing each
// other, or both leaving, at once never leave it without an owner. On
// every engine; PostgreSQL runs the writers concurrently.
func TestRaceOrgLastOwner(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			e := newOrgEnv(t, engine.Open(t))
			alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
			for i := range 10 {
				org := fmt.Sprintf("org%d", i)
				if _, err := e.reg.CreateOrg(ctx, alice, org); err != nil {
					t.Fatal(err)
				}
				if err := e.reg.Invite(ctx, alice, org, "bob", "owner"); err != nil {
					t.Fatal(err)
				}
				if err := e.reg.Answer(ctx, bob, org, true); err != nil {
					t.Fatal(err)
				}
				var errs []error
				if i%2 == 0 {
					errs = together(
						func() error { return e.reg.RemoveMember(ctx, alice, org, "bob") },
						func() error { return e.reg.RemoveMember(ctx, bob, org, "alice") })
				} else {
					errs = together(
						func() error { return e.reg.RemoveMember(ctx, alice, org, "alice") },
						func() error { return e.reg.SetMemberRole(ctx, bob, org, "bob", "reader") })
				}
				owners := 0
				for _, who := range []*access.Principal{alice, bob} {
					if v, err := e.reg.Org(ctx, who, org); err == nil {
						for _, m := range v.Members {
							if m.Role == "owner" && m.Name == who.UserName {
								owners++
							}
						}
					}
				}
				if owners != 1 {
					t.Fatalf("%s: %d owners after both went at once (errors %v), want 1", org, owners, errs)
				}
				failed := 0
				for _, err := range errs {
					switch {
					case err == nil:
					case errors.Is(err, trove.ErrInvalid), errors.Is(err, access.ErrDenied), errors.Is(err, trove.ErrNotFound):
						failed++
					default:
						t.Fatalf("%s: failed with %v, want a refusal", org, err)
					}
				}
				if failed != 1 {
					t.Fatalf("%s: %d refused (%v), want 1", org, failed, errs)
				}
			}
		})
	}
}

// TestOrgLimits: a user is a member of at most MaxOrgsPerUser
// organisations, whether by creating them or by accepting invitations.
func TestOrgLimits(t *testing.T) {
	e := newOrgEnv(t, dbtest.Open(t))
	alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
	if _, err := e.reg.CreateOrg(ctx, bob, "bobs"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Invite(ctx, bob, "bobs", "alice", "reader"); err != nil {
		t.Fatal(err)
	}
	for i := range registry.MaxOrgsPerUser {
		if _, err := e.reg.CreateOrg(ctx, alice, fmt.Sprintf("o%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.reg.CreateOrg(ctx, alice, "onemore"); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("CreateOrg past the limit = %v, want ErrInvalid", err)
	}
	if err := e.reg.Answer(ctx, alice, "bobs", true); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("accepting past the limit = %v, want ErrInvalid", err)
	}
	if orgs, err := e.reg.Orgs(ctx, alice); err != nil || len(orgs) != registry.MaxOrgsPerUser {
		t.Errorf("alice's organisations = %d, %v; want %d", len(orgs), err, registry.MaxOrgsPerUser)
	}
}

// TestOrgMemberLimit: members and pending invitations together stay under
// MaxMembersPerOrg; an invitation sent before the organisation filled up
// cannot be accepted past it.
func TestOrgMemberLimit(t *testing.T) {
	defer func(n int) { registry.MaxMembersPerOrg = n }(registry.MaxMembersPerOrg)
	registry.MaxMembersPerOrg = 3
	e := newOrgEnv(t, dbtest.Open(t))
	owner := e.user(t, "owner", false)
	bob, carol := e.user(t, "bob", false), e.user(t, "carol", false)
	e.user(t, "dave", false)
	if _, err := e.reg.CreateOrg(ctx, owner, "small"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carol"} {
		if err := e.reg.Invite(ctx, owner, "small", u, "reader"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.reg.Invite(ctx, owner, "small", "dave", "reader"); !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), "at most 3") {
		t.Errorf("inviting past the limit = %v, want ErrInvalid naming it", err)
	}
	if err := e.reg.Answer(ctx, bob, "small", true); err != nil {
		t.Fatal(err)
	}
	registry.MaxMembersPerOrg = 2 // the limit fell while carol's invitation waited
	if err := e.reg.Answer(ctx, carol, "small", true); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("accepting past the limit = %v, want ErrInvalid", err)
	}
}

// TestGrantLimit: a package has at most MaxGrantsPerPackage people with
// roles of their own; changing the role of one of them is still allowed.
func TestGrantLimit(t *testing.T) {
	defer func(n int) { registry.MaxGrantsPerPackage = n }(registry.MaxGrantsPerPackage)
	registry.MaxGrantsPerPackage = 2
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	for _, n := range []string{"bob", "carol", "dave"} {
		e.user(t, n, false)
	}
	e.publish(t, alice, "demo", "1.0", "x")
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "bob", "reader"); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"Grant":    e.reg.Grant(ctx, alice, "npm", "demo", "carol", "reader"),
		"AddOwner": e.reg.AddOwner(ctx, alice, "npm", "demo", "dave"),
	} {
		if !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), "the most a package may have") {
			t.Errorf("%s past the limit = %v, want ErrInvalid naming it", what, err)
		}
	}
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "bob", "maintainer"); err != nil {
		t.Errorf("changing a role at the limit: %v", err)
	}
	if err := e.reg.AddOwner(ctx, alice, "npm", "demo", "bob"); err != nil {
		t.Errorf("making a maintainer owner at the limit: %v", err)
	}
}
