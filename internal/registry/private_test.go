package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// TestPrivatePackageReads: a private package is read by those holding a
// role on it with a token carrying read-private, by administrators, and by
// the operator (a context without a request); to everyone else every read
// answers exactly as for a name never published.
func TestPrivatePackageReads(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol, root := e.user(t, "alice", false), e.user(t, "bob", false), e.user(t, "carol", false), e.user(t, "root", true)
	up := e.upload(t, "secret", "1.0", map[string]string{"secret-1.0.tgz": "s"})
	up.Private = true
	if _, err := e.reg.Publish(ctx, alice, up); err != nil {
		t.Fatal(err)
	}
	e.publish(t, alice, "open", "1.0", "o")
	if err := e.reg.Grant(ctx, alice, "npm", "secret", "bob", "reader"); err != nil {
		t.Fatal(err)
	}
	noRead := *bob
	noRead.Actions = []access.Action{access.Read, access.Publish}
	otherScope := *alice
	otherScope.Packages = []access.Pattern{"npm:open"}
	readers := map[string]context.Context{
		"owner":    access.WithPrincipal(ctx, alice),
		"reader":   access.WithPrincipal(ctx, bob),
		"admin":    access.WithPrincipal(ctx, root),
		"operator": ctx,
	}
	others := map[string]context.Context{
		"anonymous":                 access.WithPrincipal(ctx, nil),
		"outsider":                  access.WithPrincipal(ctx, carol),
		"reader without the action": access.WithPrincipal(ctx, &noRead),
		"owner scoped elsewhere":    access.WithPrincipal(ctx, &otherScope),
	}
	type read func(context.Context, string) error
	reads := map[string]read{
		"Project": func(c context.Context, n string) error { _, err := e.reg.Project(c, "npm", n); return err },
		"View":    func(c context.Context, n string) error { _, err := e.reg.View(c, "npm", n); return err },
		"File": func(c context.Context, n string) error {
			_, err := e.reg.File(c, "npm", trove.Name(n), n+"-1.0.tgz")
			return err
		},
		"Listing":    func(c context.Context, n string) error { _, err := e.reg.Listing(c, "npm", trove.Name(n)); return err },
		"LogEntries": func(c context.Context, n string) error { _, err := e.reg.LogEntries(c, "npm", n, "1.0"); return err },
		"Owners":     func(c context.Context, n string) error { _, err := e.reg.Owners(c, "npm", n); return err },
		"Policy":     func(c context.Context, n string) error { _, err := e.reg.Policy(c, "npm", n); return err },
		"Access":     func(c context.Context, n string) error { _, err := e.reg.Access(c, "npm", n); return err },
	}
	for rname, rd := range reads {
		for who, c := range readers {
			if err := rd(c, "secret"); err != nil {
				t.Errorf("%s by %s: %v", rname, who, err)
			}
		}
		for who, c := range others {
			got, want := rd(c, "secret"), rd(c, "never")
			if !errors.Is(got, trove.ErrNotFound) || got.Error() != replaceName(want.Error(), "never", "secret") {
				t.Errorf("%s by %s: %v; want the answer of a name never published: %v", rname, who, got, want)
			}
		}
	}
	for who, c := range others {
		if err := e.reg.CanRead(c, "npm", "secret"); !errors.Is(err, trove.ErrNotFound) {
			t.Errorf("CanRead by %s = %v, want not found", who, err)
		}
	}
	for who, c := range readers {
		if err := e.reg.CanRead(c, "npm", "secret"); err != nil {
			t.Errorf("CanRead by %s = %v", who, err)
		}
	}
	// The file cache, filled for a reader, is not served to others; the
	// files of private packages are marked so (not cacheable by shared
	// caches), those of public ones not.
	if f, err := e.reg.File(readers["reader"], "npm", "secret", "secret-1.0.tgz"); err != nil || !f.Private {
		t.Fatalf("File(secret) = %+v, %v; want it marked private", f, err)
	}
	if f, err := e.reg.File(readers["reader"], "npm", "open", "open-1.0.tgz"); err != nil || f.Private {
		t.Fatalf("File(open) = %+v, %v; want it not marked private", f, err)
	}
	if _, err := e.reg.File(others["anonymous"], "npm", "secret", "secret-1.0.tgz"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("cached File for anonymous = %v, want not found", err)
	}
	// Changes by outsiders answer as for an unknown package, not "not an owner".
	err := e.reg.Yank(others["outsider"], carol, trove.Target{Ecosystem: "npm", Name: "secret", Version: "1.0"}, "x")
	if !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Yank by an outsider = %v, want not found", err)
	}
	// Search shows it to readers only.
	for who, c := range map[string]context.Context{"owner": readers["owner"], "reader": readers["reader"], "anonymous": others["anonymous"], "outsider": others["outsider"], "scoped elsewhere": others["owner scoped elsewhere"]} {
		ps, total, err := e.reg.Search(c, "npm", "e", 10, 0)
		found := false
		for _, p := range ps {
			found = found || p.Name == "secret"
		}
		want := who == "owner" || who == "reader"
		if err != nil || found != want || total != len(ps) {
			t.Errorf("Search by %s: found secret = %v (total %d of %d), %v; want %v", who, found, total, len(ps), err, want)
		}
	}
	if ps, _ := e.reg.Packages(readers["owner"], "npm"); len(ps) != 1 {
		t.Errorf("Packages = %d packages, want the public one only (shared lists never hold private names)", len(ps))
	}
}

// TestSetPrivate: owners switch a package's access; the records of a
// private package are salted, the switch itself is an access record, and
// a maintainer may not switch it.
func TestSetPrivate(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
	e.publish(t, alice, "demo", "1.0", "x")
	if _, ev := lastEvent(t, e); ev.Salt != "" {
		t.Errorf("a public package's record is salted: %+v", ev)
	}
	if err := e.reg.Grant(ctx, alice, "npm", "demo", "bob", "maintainer"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.SetPrivate(ctx, bob, "npm", "demo", true); !errors.Is(err, access.ErrDenied) {
		t.Errorf("SetPrivate by a maintainer = %v, want denied", err)
	}
	if err := e.reg.SetPrivate(ctx, alice, "npm", "demo", true); err != nil {
		t.Fatal(err)
	}
	n, ev := lastEvent(t, e)
	if ev.Kind != "access" || ev.Message == nil || *ev.Message != "private" || ev.Salt == "" {
		t.Errorf("making it private logged %+v; want a salted access record saying private", ev)
	}
	if err := e.reg.SetPrivate(ctx, alice, "npm", "demo", true); err != nil {
		t.Errorf("SetPrivate again: %v", err)
	}
	if m, _ := lastEvent(t, e); m != n {
		t.Errorf("a SetPrivate that changes nothing appended a record")
	}
	e.publish(t, bob, "demo", "1.1", "y")
	_, pub := lastEvent(t, e)
	if pub.Kind != "publish" || pub.Salt == "" || pub.Salt == ev.Salt {
		t.Errorf("a private package's publish record = %+v; want its own salt", pub)
	}
	if err := e.reg.SetPrivate(ctx, alice, "npm", "demo", false); err != nil {
		t.Fatal(err)
	}
	if _, ev := lastEvent(t, e); ev.Salt != "" || *ev.Message != "public" {
		t.Errorf("making it public logged %+v; want an unsalted access record saying public", ev)
	}
	if err := e.reg.CanRead(access.WithPrincipal(ctx, nil), "npm", "demo"); err != nil {
		t.Errorf("CanRead after making it public: %v (the cached answer must follow the change)", err)
	}
}

func replaceName(s, from, to string) string {
	return strings.ReplaceAll(s, from, to)
}

// TestUserAndTeamPackages: a user's own grants and a team's grants are
// listed with their roles; private packages only to those who may read
// them; a team's list only to its organisation's members.
func TestUserAndTeamPackages(t *testing.T) {
	e := newOrgEnv(t, dbtest.Open(t))
	alice, bob, carol := e.user(t, "alice", false), e.user(t, "bob", false), e.user(t, "carol", false)
	e.publish(t, alice, "open", "1.0", "o")
	up := e.upload(t, "shut", "1.0", map[string]string{"shut-1.0.tgz": "s"})
	up.Private = true
	if _, err := e.reg.Publish(ctx, alice, up); err != nil {
		t.Fatal(err)
	}
	names := func(prs []registry.PackageRole) string {
		var out []string
		for _, p := range prs {
			out = append(out, string(p.Package.Name)+"="+p.Role.String())
		}
		return strings.Join(out, " ")
	}
	for who, c := range map[string]struct {
		ctx  context.Context
		want string
	}{
		"alice":     {access.WithPrincipal(ctx, alice), "open=owner shut=owner"},
		"carol":     {access.WithPrincipal(ctx, carol), "open=owner"},
		"anonymous": {access.WithPrincipal(ctx, nil), "open=owner"},
	} {
		got, err := e.reg.UserPackages(c.ctx, "npm", "alice")
		if err != nil || names(got) != c.want {
			t.Errorf("UserPackages(alice) for %s = %q, %v; want %q", who, names(got), err, c.want)
		}
	}
	if _, err := e.reg.UserPackages(ctx, "npm", "nobody"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("UserPackages(nobody) = %v, want not found", err)
	}

	if _, err := e.reg.CreateOrg(ctx, alice, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.CreateTeam(ctx, alice, "acme", "devs"); err != nil {
		t.Fatal(err)
	}
	org := e.upload(t, "acme-lib", "1.0", map[string]string{"acme-lib-1.0.tgz": "a"})
	if _, err := e.reg.Publish(ctx, alice, org); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.GrantTeam(ctx, alice, "npm", "acme-lib", "devs", "maintainer"); err != nil {
		t.Fatal(err)
	}
	got, err := e.reg.TeamPackages(ctx, alice, "acme", "devs", "npm")
	if err != nil || names(got) != "acme-lib=maintainer" {
		t.Errorf("TeamPackages(acme:devs) = %q, %v", names(got), err)
	}
	if _, err := e.reg.TeamPackages(ctx, bob, "acme", "devs", "npm"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("TeamPackages for a non-member = %v, want not found", err)
	}
	if _, err := e.reg.TeamPackages(ctx, alice, "acme", "nope", "npm"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("TeamPackages of an unknown team = %v, want not found", err)
	}
}

// TestPrivateChangesByRoleHolders: people holding a role on a private
// package change it with tokens that lack read-private (their changes are
// authorized as any other); outsiders are answered as for an unknown name.
func TestPrivateChangesByRoleHolders(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.user(t, "carol", false)
	up := e.upload(t, "secret", "1.0", map[string]string{"secret-1.0.tgz": "s"})
	up.Private = true
	if _, err := e.reg.Publish(ctx, alice, up); err != nil {
		t.Fatal(err)
	}
	noRead := *alice
	noRead.Actions = []access.Action{access.Read, access.Publish, access.Owners}
	if err := e.reg.Grant(access.WithPrincipal(ctx, &noRead), &noRead, "npm", "secret", "carol", "reader"); err != nil {
		t.Errorf("Grant by the owner without read-private: %v", err)
	}
	if _, err := e.reg.Owners(access.WithPrincipal(ctx, &noRead), "npm", "secret"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Owners read by the owner without read-private = %v, want not found (reading needs the action)", err)
	}
	stranger := e.user(t, "stranger", false)
	err := e.reg.Grant(access.WithPrincipal(ctx, stranger), stranger, "npm", "secret", "stranger", "owner")
	if want := e.reg.Grant(access.WithPrincipal(ctx, stranger), stranger, "npm", "never", "stranger", "owner"); err == nil || err.Error() != replaceName(want.Error(), "never", "secret") {
		t.Errorf("Grant by a stranger = %v; want the answer of a name never published: %v", err, want)
	}
}

// TestPublishUnderAPrivateName: an upload under a private package's name
// by someone who may not know it exists is refused without naming it, and
// a look-alike of it is refused without naming it either.
func TestPublishUnderAPrivateName(t *testing.T) {
	e := newEnv(t)
	alice, mallory := e.user(t, "alice", false), e.user(t, "mallory", false)
	up := e.upload(t, "secret-lib", "1.0", map[string]string{"secret-lib-1.0.tgz": "s"})
	up.Private = true
	if _, err := e.reg.Publish(ctx, alice, up); err != nil {
		t.Fatal(err)
	}
	_, err := e.reg.Publish(access.WithPrincipal(ctx, mallory), mallory, e.upload(t, "secret-lib", "2.0", map[string]string{"secret-lib-2.0.tgz": "m"}))
	if !errors.Is(err, access.ErrDenied) || err.Error() != "the name secret-lib is not available: choose another name" {
		t.Errorf("publishing under a private name = %v, want it refused as not available", err)
	}
	_, err = e.reg.Publish(access.WithPrincipal(ctx, mallory), mallory, e.upload(t, "secretlib", "1.0", map[string]string{"secretlib-1.0.tgz": "m"}))
	if !errors.Is(err, access.ErrDenied) || strings.Contains(err.Error(), "secret-lib") {
		t.Errorf("publishing a look-alike of a private name = %v, want it refused without naming it", err)
	}
	// Its owner still publishes, and a public look-alike is named.
	e.publish(t, alice, "secret-lib", "2.0", "a")
	e.publish(t, alice, "open-lib", "1.0", "o")
	_, err = e.reg.Publish(access.WithPrincipal(ctx, mallory), mallory, e.upload(t, "openlib", "1.0", map[string]string{"openlib-1.0.tgz": "m"}))
	if err == nil || !strings.Contains(err.Error(), `"open-lib"`) {
		t.Errorf("publishing a look-alike of a public name = %v, want it named", err)
	}
}
