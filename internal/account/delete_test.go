package account_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/account"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// deletionEnv is env with a registry whose packages the users own.
type deletionEnv struct {
	*env
	reg  *registry.Service
	del  *account.Deletions
	ses  *account.Sessions
	root *trove.User
}

func newDeletionEnv(t *testing.T) *deletionEnv {
	t.Helper()
	e := &deletionEnv{env: newEnv(t)}
	var err error
	e.reg, err = registry.New(registry.Config{DB: e.db, Blobs: memblob.New(), Scan: scan.NewPipeline(), Rules: []registry.Rules{pypi.Rules{}},
		TempDir: filepath.Join(t.TempDir(), "tmp"), Now: e.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	e.del = account.NewDeletions(e.db, e.notes, e.reg, e.tokens, e.clk.now)
	e.ses = account.NewSessions(e.db, e.clk.now)
	e.root, err = e.users.Create(context.Background(), account.NewUser{Name: "root", Email: "root@example.test", Password: "correct horse battery staple", Admin: true, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// publish publishes name version as u, who becomes its first owner.
func (e *deletionEnv) publish(t *testing.T, u *trove.User, name, version string) {
	t.Helper()
	st, err := e.reg.Stage(strings.NewReader(name+version), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	who := &access.Principal{UserID: u.ID, UserName: u.Name, Admin: u.Admin, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthPhishingResistant}
	if _, err := e.reg.Publish(context.Background(), who, &registry.Upload{Ecosystem: trove.PyPI, Name: name, Version: version, Metadata: []byte(`{}`),
		Files: []registry.UploadFile{{Filename: name + "-" + version + ".tar.gz", Kind: "sdist", Content: st}}}); err != nil {
		t.Fatal(err)
	}
}

func (e *deletionEnv) owners(t *testing.T, name string) string {
	t.Helper()
	us, err := e.reg.Owners(context.Background(), trove.PyPI, name)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Name)
	}
	return strings.Join(names, ",")
}

// lastOwnerRecord returns the owner changes of the newest log record
// about the package.
func (e *deletionEnv) lastOwnerRecord(t *testing.T, name string) []translog.OwnerChange {
	t.Helper()
	entries, err := e.db.LogEntries(context.Background(), trove.PyPI, trove.Name(name), "")
	if err != nil || len(entries) == 0 {
		t.Fatalf("log entries of %s: %v, %v", name, entries, err)
	}
	last := entries[len(entries)-1]
	recs, err := e.db.ReadLogRecords(context.Background(), last.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := translog.ParseEvent(recs[0])
	if err != nil || ev.Kind != "owner" {
		t.Fatalf("record %d of %s = %+v, %v; want an owner record", last.ID, name, ev, err)
	}
	return ev.Owners
}

func TestDeleteAccount(t *testing.T) {
	ctx := context.Background()
	e := newDeletionEnv(t)
	alice := e.user(t, "alice", true)
	bob := e.user(t, "bob", true)
	e.publish(t, alice, "solo", "1.0")
	e.publish(t, alice, "shared", "1.0")
	if err := e.reg.AddOwner(ctx, &access.Principal{UserID: alice.ID, UserName: "alice", Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthPhishingResistant},
		trove.PyPI, "shared", "bob"); err != nil {
		t.Fatal(err)
	}
	secret, _, err := e.tokens.Create(ctx, alice.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Publish}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tokens.Authenticate(ctx, secret); err != nil { // now in this process's cache
		t.Fatal(err)
	}
	cookie, _, err := e.ses.Start(ctx, alice, false, account.Device{Client: "192.0.2.1", UserAgent: "Firefox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.SignIn(ctx, "alice", "correct horse battery staple", netip.MustParseAddr("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, 1) // the token notice
	logBefore, _ := e.db.LogSize(ctx)

	plan, err := e.del.Plan(ctx, account.Deletion{User: "Alice", By: e.root})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Packages) != 2 || len(plan.Ownerless()) != 1 || plan.Ownerless()[0].Name != "solo" || len(plan.Shared()) != 1 ||
		plan.Releases != 2 || plan.Tokens != 1 || plan.Sessions != 1 {
		t.Errorf("Plan = %+v", plan)
	}
	if u, _ := e.db.UserByName(ctx, "alice"); u.Deleted() {
		t.Fatal("Plan deleted the account")
	}

	c, err := e.del.Delete(ctx, account.Deletion{User: "alice", By: e.root, Client: "198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.User.Deleted() || len(c.Packages) != 2 {
		t.Errorf("Delete = %+v", c)
	}

	// Nothing works for the account any more, and it looks like no account.
	if _, err := e.tokens.Authenticate(ctx, secret); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("the deleted account's token (cached) = %v, want ErrUnauthenticated", err)
	}
	if _, _, err := e.ses.Authenticate(ctx, cookie); !errors.Is(err, account.ErrNoSession) {
		t.Errorf("the deleted account's session = %v", err)
	}
	_, errDeleted := e.users.SignIn(ctx, "alice", "correct horse battery staple", netip.MustParseAddr("192.0.2.2"))
	_, errUnknown := e.users.SignIn(ctx, "nobody", "correct horse battery staple", netip.MustParseAddr("192.0.2.2"))
	if !errors.Is(errDeleted, account.ErrBadCredentials) || errDeleted.Error() != errUnknown.Error() {
		t.Errorf("signing in as the deleted account = %v; as an unknown name = %v; want the same answer", errDeleted, errUnknown)
	}
	if _, err := e.users.ByName(ctx, "alice"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("ByName(deleted) = %v, want ErrNotFound", err)
	}
	// The name is never given again.
	_, err = e.users.Create(ctx, account.NewUser{Name: "alice", Email: "someone@example.test", Password: "another correct horse staple"})
	if !errors.Is(err, account.ErrExists) || !strings.Contains(err.Error(), "belonged to an account that was deleted") {
		t.Errorf("Create(deleted name) = %v", err)
	}
	if _, err := e.del.Delete(ctx, account.Deletion{User: "alice", By: e.root}); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("deleting again = %v, want ErrNotFound", err)
	}
	if r, tk, s, f, _ := e.db.AccountCounts(ctx, alice.ID); r != 2 || tk != 0 || s != 0 || f != 0 {
		t.Errorf("after: releases %d, tokens %d, sessions %d, factors %d; want the releases only", r, tk, s, f)
	}
	if n, _ := e.db.KnownDeviceCount(ctx, alice.ID); n != 0 {
		t.Errorf("known devices kept: %d", n)
	}

	// Packages: removed as owner through logged owner changes; solo has
	// no owner left, shared keeps bob; releases stay, published by alice.
	if got := e.owners(t, "solo"); got != "" {
		t.Errorf("owners of solo = %q, want none", got)
	}
	if got := e.owners(t, "shared"); got != "bob" {
		t.Errorf("owners of shared = %q, want bob", got)
	}
	for _, name := range []string{"solo", "shared"} {
		if got := e.lastOwnerRecord(t, name); len(got) != 1 || got[0] != (translog.OwnerChange{User: "alice"}) {
			t.Errorf("last owner record of %s = %+v, want alice removed", name, got)
		}
	}
	if n, _ := e.db.LogSize(ctx); n != logBefore+2 {
		t.Errorf("log grew by %d records, want 2", n-logBefore)
	}
	p, _ := e.db.Package(ctx, trove.PyPI, "solo")
	rels, _ := e.db.Releases(ctx, p.ID)
	if pub, err := e.db.PublishedReleases(ctx, p.ID, rels[0].PublishedAt); err != nil || len(pub) != 1 || pub[0].Publisher != "alice" {
		t.Errorf("solo's release = %+v, %v; want it kept, published by alice", pub, err)
	}
	// An ownerless package: only administrators act on it.
	bobWho := &access.Principal{UserID: bob.ID, UserName: "bob", Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthPhishingResistant}
	if err := e.reg.AddOwner(ctx, bobWho, trove.PyPI, "solo", "bob"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("bob taking ownerless solo = %v, want ErrDenied", err)
	}
	if err := e.reg.AddOwner(ctx, bobWho, trove.PyPI, "shared", "alice"); err == nil || !strings.Contains(err.Error(), "was deleted") {
		t.Errorf("adding the deleted account as an owner = %v", err)
	}
	rootWho := &access.Principal{UserID: e.root.ID, UserName: "root", Admin: true, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthPhishingResistant}
	if err := e.reg.AddOwner(ctx, rootWho, trove.PyPI, "solo", "bob"); err != nil {
		t.Errorf("an administrator giving solo to bob = %v", err)
	}

	// The owner was told, at the address now erased, and the event names
	// the administrator.
	got := e.deliver(t, 2)
	last := got[len(got)-1]
	if last.To[0] != "alice@example.test" || !strings.Contains(last.Body, "administrator root") || !strings.Contains(last.Body, "cannot be registered again") {
		t.Errorf("deletion mail = %+v", last)
	}
	evs, _ := e.notes.Recent(ctx, meta.EventFilter{UserID: alice.ID, Kind: string(account.EventAccountDeleted)}, 10)
	if len(evs) != 1 || !strings.Contains(evs[0].Detail, "root") || evs[0].Client != "198.51.100.7" || evs[0].UserName != "alice" {
		t.Errorf("deletion events = %+v", evs)
	}
}

func TestDeleteRefusals(t *testing.T) {
	ctx := context.Background()
	e := newDeletionEnv(t)
	alice := e.user(t, "alice", true)
	e.publish(t, alice, "solo", "1.0")
	ops, err := e.users.Create(ctx, account.NewUser{Name: "ops", Email: "ops@example.test", Password: "correct horse battery staple", Admin: true, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	logBefore, _ := e.db.LogSize(ctx)
	for _, tc := range []struct {
		del  account.Deletion
		kind error
		want string
	}{
		{account.Deletion{User: "root", By: e.root}, trove.ErrInvalid, "you cannot delete your own account"},
		{account.Deletion{User: "nobody", By: e.root}, trove.ErrNotFound, `no account "nobody"`},
		{account.Deletion{User: "alice", By: e.root, Heir: "nobody"}, trove.ErrInvalid, `no account "nobody" to take over`},
		{account.Deletion{User: "alice", By: e.root, Heir: "alice"}, trove.ErrInvalid, "cannot take over the packages of its own"},
	} {
		if _, err := e.del.Delete(ctx, tc.del); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Delete(%+v) = %v, want %v containing %q", tc.del, err, tc.kind, tc.want)
		}
	}
	// Two administrators: one may go, not the last one (nor a disabled
	// administrator's last colleague).
	if _, err := e.del.Delete(ctx, account.Deletion{User: "ops", By: e.root}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.del.Delete(ctx, account.Deletion{User: "root"}); !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), "last active administrator") {
		t.Errorf("deleting the last administrator = %v", err)
	}
	if u, _ := e.db.UserByID(ctx, e.root.ID); u.Deleted() || !u.Admin {
		t.Error("the last administrator was deleted")
	}
	_ = ops
	if got := e.owners(t, "solo"); got != "alice" {
		t.Errorf("a refused deletion changed owners: %q", got)
	}
	if n, _ := e.db.LogSize(ctx); n != logBefore {
		t.Errorf("refused deletions appended %d log records", n-logBefore)
	}
}

// failingOwners disowns, then fails: the deletion's transaction must
// leave nothing behind.
type failingOwners struct{ reg *registry.Service }

func (f failingOwners) Disown(ctx context.Context, tx *meta.Tx, user, heir *trove.User) (func(context.Context) error, error) {
	if _, err := f.reg.Disown(ctx, tx, user, heir); err != nil {
		return nil, err
	}
	return nil, errors.New("disk on fire")
}

func TestDeleteIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	e := newDeletionEnv(t)
	alice := e.user(t, "alice", true)
	e.publish(t, alice, "solo", "1.0")
	secret, _, err := e.tokens.Create(ctx, alice.ID, access.Spec{Packages: []access.Pattern{"*"}, Actions: []access.Action{access.Publish}})
	if err != nil {
		t.Fatal(err)
	}
	logBefore, _ := e.db.LogSize(ctx)
	del := account.NewDeletions(e.db, e.notes, failingOwners{e.reg}, e.tokens, e.clk.now)
	if _, err := del.Delete(ctx, account.Deletion{User: "alice", By: e.root}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Delete = %v, want the failure", err)
	}
	if u, _ := e.db.UserByName(ctx, "alice"); u.Deleted() || u.Email != "alice@example.test" {
		t.Errorf("after a failed deletion: %+v", u)
	}
	if _, err := e.tokens.Authenticate(ctx, secret); err != nil {
		t.Errorf("token after a failed deletion: %v", err)
	}
	if got := e.owners(t, "solo"); got != "alice" {
		t.Errorf("owners after a failed deletion: %q", got)
	}
	if n, _ := e.db.LogSize(ctx); n != logBefore {
		t.Errorf("a failed deletion appended %d log records", n-logBefore)
	}
	if evs, _ := e.notes.Recent(ctx, meta.EventFilter{Kind: string(account.EventAccountDeleted)}, 10); len(evs) != 0 {
		t.Errorf("a failed deletion recorded %v", evs)
	}
	if _, err := e.users.SignIn(ctx, "alice", "correct horse battery staple", netip.MustParseAddr("192.0.2.1")); err != nil {
		t.Errorf("signing in after a failed deletion: %v", err)
	}
}

func TestDeleteWithHeir(t *testing.T) {
	ctx := context.Background()
	e := newDeletionEnv(t)
	alice := e.user(t, "alice", true)
	e.user(t, "carol", true)
	e.publish(t, alice, "solo", "1.0")
	c, err := e.del.Delete(ctx, account.Deletion{User: "alice", By: e.root, Heir: "Carol"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Heir == nil || c.Heir.Name != "carol" {
		t.Errorf("heir = %+v", c.Heir)
	}
	if got := e.owners(t, "solo"); got != "carol" {
		t.Errorf("owners of solo = %q, want carol", got)
	}
	entries, _ := e.db.LogEntries(ctx, trove.PyPI, "solo", "")
	if len(entries) < 3 { // first owners, carol added, alice removed
		t.Errorf("owner records of solo = %d, want 3", len(entries))
	}
	if got := e.lastOwnerRecord(t, "solo"); len(got) != 1 || got[0] != (translog.OwnerChange{User: "alice"}) {
		t.Errorf("last record = %+v", got)
	}
}
