package registry_test

import (
	"errors"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

func ownerNames(t *testing.T, e *env, name string) []string {
	t.Helper()
	us, err := e.reg.Owners(ctx, "npm", name)
	if err != nil {
		t.Fatalf("Owners(%s): %v", name, err)
	}
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

func logSize(t *testing.T, e *env) int64 {
	t.Helper()
	n, err := e.db.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOwnerChangesAreLoggedOnce(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	bob := e.user(t, "bob", false)
	e.publish(t, alice, "demo", "1.0", "x")

	if err := e.reg.AddOwner(ctx, alice, "npm", "demo", "Bob"); err != nil {
		t.Fatal(err)
	}
	n, ev := lastEvent(t, e)
	if ev.Kind != "owner" || ev.Name != "demo" || ev.Version != "" || len(ev.Owners) != 1 || ev.Owners[0] != (translog.OwnerChange{Add: true, User: "bob"}) {
		t.Errorf("owner add record = %+v", ev)
	}
	if got := ownerNames(t, e, "demo"); len(got) != 2 || got[0] != "alice" || got[1] != "bob" {
		t.Errorf("owners after add = %v", got)
	}
	// The new owner may publish and change owners.
	e.publish(t, bob, "demo", "1.1", "y")
	n++
	if err := e.reg.RemoveOwner(ctx, bob, "npm", "demo", "alice"); err != nil {
		t.Fatal(err)
	}
	m, ev := lastEvent(t, e)
	if m != n+1 || ev.Kind != "owner" || len(ev.Owners) != 1 || ev.Owners[0] != (translog.OwnerChange{User: "alice"}) {
		t.Errorf("owner remove: log size %d (want %d), record %+v", m, n+1, ev)
	}
	if _, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "2.0", map[string]string{"demo-2.0.tgz": "z"})); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Publish by a removed owner = %v, want ErrDenied", err)
	}
	entries, _ := e.db.LogEntries(ctx, "npm", "demo", "")
	if len(entries) != 3 { // first owner, add bob, remove alice
		t.Errorf("owner records of demo = %d, want 3", len(entries))
	}
	p, _ := e.reg.Project(ctx, "npm", "demo")
	if len(p.Owners) != 1 || p.Owners[0].Name != "bob" {
		t.Errorf("Project owners = %v, want bob", p.Owners)
	}
}

func TestOwnerNoOpLogsNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.user(t, "carol", false)
	e.publish(t, alice, "demo", "1.0", "x")
	n := logSize(t, e)
	if err := e.reg.AddOwner(ctx, alice, "npm", "demo", "alice"); err != nil {
		t.Errorf("AddOwner(existing owner) = %v, want nil", err)
	}
	if err := e.reg.RemoveOwner(ctx, alice, "npm", "demo", "carol"); err != nil {
		t.Errorf("RemoveOwner(not an owner) = %v, want nil", err)
	}
	if m := logSize(t, e); m != n {
		t.Errorf("no-op owner changes appended %d records", m-n)
	}
}

func TestLastOwnerStays(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "demo", "1.0", "x")
	n := logSize(t, e)
	err := e.reg.RemoveOwner(ctx, alice, "npm", "demo", "alice")
	if !errors.Is(err, trove.ErrInvalid) || err.Error() != "alice is the only owner of demo: a package keeps at least one owner; add another owner first" {
		t.Errorf("RemoveOwner(last owner) = %v", err)
	}
	if got := ownerNames(t, e, "demo"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("owners = %v, want alice", got)
	}
	if m := logSize(t, e); m != n {
		t.Errorf("refused removal appended %d records", m-n)
	}
}

func TestOwnerUnknownUser(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "demo", "1.0", "x")
	n := logSize(t, e)
	for _, f := range []func(*access.Principal, trove.Ecosystem, string, string) error{
		func(w *access.Principal, eco trove.Ecosystem, name, user string) error {
			return e.reg.AddOwner(ctx, w, eco, name, user)
		},
		func(w *access.Principal, eco trove.Ecosystem, name, user string) error {
			return e.reg.RemoveOwner(ctx, w, eco, name, user)
		},
	} {
		if err := f(alice, "npm", "demo", "nobody"); !errors.Is(err, trove.ErrNotFound) || err.Error() != "no user nobody" {
			t.Errorf("owner change of an unknown user = %v, want ErrNotFound \"no user nobody\"", err)
		}
	}
	if m := logSize(t, e); m != n {
		t.Errorf("refused changes appended %d records", m-n)
	}
}

func TestOwnerAuthorization(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	bob := e.user(t, "bob", false)
	admin := e.user(t, "root", true)
	e.publish(t, alice, "demo", "1.0", "x")

	scoped := *alice
	scoped.Packages = []access.Pattern{"npm:other-*"}
	readOnly := *alice
	readOnly.Actions = []access.Action{access.Read}
	yankOnly := *alice
	yankOnly.Actions = []access.Action{access.Yank}
	scopedAdmin := *admin
	scopedAdmin.Actions = []access.Action{access.Read}
	n := logSize(t, e)
	for _, tc := range []struct {
		name string
		who  *access.Principal
		want error
	}{
		{"anonymous", nil, access.ErrUnauthenticated},
		{"not an owner", bob, access.ErrDenied},
		{"token for other packages", &scoped, access.ErrDenied},
		{"read-only token", &readOnly, access.ErrDenied},
		{"yank-only token", &yankOnly, access.ErrDenied},
		{"administrator with a read-only token", &scopedAdmin, access.ErrDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.reg.AddOwner(ctx, tc.who, "npm", "demo", "bob"); !errors.Is(err, tc.want) {
				t.Errorf("AddOwner = %v, want %v", err, tc.want)
			}
			if err := e.reg.RemoveOwner(ctx, tc.who, "npm", "demo", "alice"); !errors.Is(err, tc.want) {
				t.Errorf("RemoveOwner = %v, want %v", err, tc.want)
			}
		})
	}
	if m := logSize(t, e); m != n {
		t.Errorf("refused changes appended %d records", m-n)
	}
	if got := ownerNames(t, e, "demo"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("refused changes changed the owners: %v", got)
	}
	// An administrator who owns nothing may.
	if err := e.reg.AddOwner(ctx, admin, "npm", "demo", "bob"); err != nil {
		t.Errorf("AddOwner by an administrator = %v", err)
	}
	if m := logSize(t, e); m != n+1 {
		t.Errorf("administrator's change appended %d records, want 1", m-n)
	}
}

// An owner change of a package without a visible release fails exactly as
// for a package that does not exist, whoever asks.
func TestOwnerOfInvisiblePackage(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	bob := e.user(t, "bob", false)
	res := e.publish(t, alice, "hidden", "1.0", "x")
	if err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.SetReleaseState(ctx, res.Release.ID, trove.Published, trove.Deleted, e.now)
	}); err != nil {
		t.Fatal(err)
	}
	n := logSize(t, e)
	for _, name := range []string{"hidden", "absent"} {
		for _, who := range []*access.Principal{alice, bob, nil} {
			err := e.reg.AddOwner(ctx, who, "npm", name, "bob")
			if !errors.Is(err, trove.ErrNotFound) || err.Error() != "package "+name+" not found" {
				t.Errorf("AddOwner(%s) by %v = %v, want package %s not found", name, who, err, name)
			}
			err = e.reg.RemoveOwner(ctx, who, "npm", name, "alice")
			if !errors.Is(err, trove.ErrNotFound) || err.Error() != "package "+name+" not found" {
				t.Errorf("RemoveOwner(%s) by %v = %v, want package %s not found", name, who, err, name)
			}
		}
		if _, err := e.reg.Owners(ctx, "npm", name); !errors.Is(err, trove.ErrNotFound) {
			t.Errorf("Owners(%s) = %v, want ErrNotFound", name, err)
		}
	}
	if m := logSize(t, e); m != n {
		t.Errorf("refused changes appended %d records", m-n)
	}
}
