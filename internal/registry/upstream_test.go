package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// fakeUpstreams has the names in its set.
type fakeUpstreams map[trove.Name]bool

func (f fakeUpstreams) Exists(ctx context.Context, eco trove.Ecosystem, name trove.Name) (bool, error) {
	if name == "unreachable" {
		return false, errors.New("no upstream answered")
	}
	return f[name], nil
}

func (e *env) imp(t *testing.T, name, version, content string) (*registry.Result, error) {
	t.Helper()
	u := e.upload(t, name, version, map[string]string{name + "-" + version + ".tgz": content})
	u.Tags = nil
	return e.reg.Import(ctx, &registry.Import{Upload: *u, Source: "public", URL: "http://up.test/" + name + "-" + version + ".tgz"})
}

func TestImportRecordsAnUpstreamPackage(t *testing.T) {
	e := newEnv(t)
	res, err := e.imp(t, "left-pad", "1.0.0", "pad")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Package.Upstream || res.Release.Source != "public" || res.Release.State != trove.Published || res.Files[0].State != trove.Published {
		t.Fatalf("import = package %+v release %+v", res.Package, res.Release)
	}
	_, ev := lastEvent(t, e)
	if ev.Kind != "proxy" || ev.Upstream == nil || ev.Upstream.Name != "public" || ev.Upstream.URL != "http://up.test/left-pad-1.0.0.tgz" ||
		!ev.HasFile("left-pad-1.0.0.tgz", res.Files[0].SHA256) {
		t.Fatalf("newest record = %+v", ev)
	}
	if owners, err := e.db.Owners(ctx, res.Package.ID); err != nil || len(owners) != 0 {
		t.Fatalf("an upstream package has owners %v, %v", owners, err)
	}
	if local, err := e.reg.Local(ctx, "npm", "left-pad"); err != nil || local {
		t.Fatalf("Local(upstream package) = %v, %v", local, err)
	}
	n, _ := lastEvent(t, e)
	again, err := e.imp(t, "left-pad", "1.0.0", "pad")
	if err != nil || !again.Unchanged {
		t.Fatalf("importing the same bytes again = %+v, %v; want unchanged", again, err)
	}
	if m, _ := lastEvent(t, e); m != n {
		t.Fatalf("an unchanged import appended %d records", m-n)
	}
	if _, err := e.imp(t, "left-pad", "1.0.0", "other bytes"); !errors.Is(err, trove.ErrExists) {
		t.Fatalf("importing other bytes under an imported filename = %v, want ErrExists", err)
	}
	// Nobody publishes over an upstream package, not even an administrator.
	root := e.user(t, "root", true)
	if _, err := e.reg.Publish(ctx, root, e.upload(t, "left-pad", "2.0.0", map[string]string{"left-pad-2.0.0.tgz": "mine"})); !errors.Is(err, trove.ErrExists) {
		t.Fatalf("publishing a new version of an upstream package = %v, want ErrExists", err)
	}
}

func TestImportOfALocalNameIsRefused(t *testing.T) {
	e := newEnv(t)
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "mine", "1.0.0", "local")
	n, _ := lastEvent(t, e)
	if _, err := e.imp(t, "mine", "9.0.0", "from upstream"); !errors.Is(err, trove.ErrExists) {
		t.Fatalf("importing a higher version of a local name = %v, want ErrExists", err)
	}
	if m, _ := lastEvent(t, e); m != n {
		t.Fatal("a refused import was logged")
	}
	p, err := e.reg.Project(ctx, "npm", "mine")
	if err != nil || len(p.Releases) != 1 || p.Package.Upstream {
		t.Fatalf("project after a refused import = %+v, %v", p, err)
	}
	if local, err := e.reg.Local(ctx, "npm", "mine"); err != nil || !local {
		t.Fatalf("Local(local package) = %v, %v", local, err)
	}
}

func TestNewLocalNamesAreCheckedAgainstUpstreams(t *testing.T) {
	e := newEnv(t)
	e.reg.SetUpstreams(fakeUpstreams{"popular": true})
	alice := e.user(t, "alice", false)
	if _, err := e.reg.Publish(ctx, alice, e.upload(t, "popular", "1.0.0", map[string]string{"popular-1.0.0.tgz": "x"})); !errors.Is(err, trove.ErrExists) {
		t.Fatalf("publishing a name an upstream has = %v, want ErrExists", err)
	}
	if _, err := e.reg.Publish(ctx, alice, e.upload(t, "unreachable", "1.0.0", map[string]string{"unreachable-1.0.0.tgz": "x"})); err == nil {
		t.Fatal("a new name was published while no upstream could say whether it has it")
	}
	e.publish(t, alice, "private-thing", "1.0.0", "x")
	// An administrator's exception makes the name a deliberate fork.
	if err := e.db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.PutUpstreamException(ctx, &meta.UpstreamException{Ecosystem: "npm", Name: "popular", Kind: meta.ExceptLocal, CreatedBy: "root", CreatedAt: e.now})
	}); err != nil {
		t.Fatal(err)
	}
	if local, err := e.reg.Local(ctx, "npm", "popular"); err != nil || !local {
		t.Fatalf("Local(name with a local exception) = %v, %v", local, err)
	}
	e.publish(t, alice, "popular", "1.0.0", "our fork")
	if _, err := e.imp(t, "popular", "2.0.0", "theirs"); !errors.Is(err, trove.ErrExists) {
		t.Fatalf("importing the forked name = %v, want ErrExists", err)
	}
}

func TestExceptionsAreLogged(t *testing.T) {
	e := newEnv(t)
	if err := e.reg.Except(ctx, "root", "npm", "fork", meta.ExceptLocal, "our patched copy"); err != nil {
		t.Fatal(err)
	}
	_, ev := lastEvent(t, e)
	if ev.Kind != "except" || ev.Name != "fork" || ev.Message == nil || *ev.Message != "local" || *ev.Reason != "our patched copy" {
		t.Fatalf("newest record = %+v", ev)
	}
	if local, _ := e.reg.Local(ctx, "npm", "fork"); !local {
		t.Fatal("an exception as local did not make the name local")
	}
	if chs, err := e.db.ChangesSince(ctx, 0, 100); err != nil || len(chs) == 0 || chs[len(chs)-1].Name != "fork" || chs[len(chs)-1].Kind != "except" {
		t.Fatalf("the change feed does not carry the exception of a name without a package: %+v, %v", chs, err)
	}
	if err := e.reg.Except(ctx, "root", "npm", "fork", "", "done"); err != nil {
		t.Fatal(err)
	}
	if local, _ := e.reg.Local(ctx, "npm", "fork"); local {
		t.Fatal("a removed exception still holds")
	}
	if err := e.reg.Except(ctx, "root", "npm", "fork", "", "again"); !errors.Is(err, trove.ErrNotFound) {
		t.Fatalf("removing a missing exception = %v", err)
	}
	alice := e.user(t, "alice", false)
	e.publish(t, alice, "mine", "1.0.0", "x")
	if err := e.reg.Except(ctx, "root", "npm", "mine", meta.ExceptUpstream, "no"); !errors.Is(err, trove.ErrExists) {
		t.Fatalf("serving a local package from upstreams = %v, want ErrExists", err)
	}
	if _, err := e.imp(t, "theirs", "1.0.0", "y"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Except(ctx, "root", "npm", "theirs", meta.ExceptLocal, "no"); !errors.Is(err, trove.ErrExists) {
		t.Fatalf("making an imported package local = %v, want ErrExists", err)
	}
}

// TestReservationsWithOwnersAreLocal: a reservation with owners claims
// its names here, so upstreams are never asked for them; one for
// administrators only (as the default list reserves public code hosts'
// Go paths) keeps local squatters out but leaves the names to upstreams.
func TestReservationsWithOwnersAreLocal(t *testing.T) {
	e := newEnv(t)
	reg, err := registry.New(registry.Config{DB: e.db, Blobs: e.blobs, Rules: []registry.Rules{rules{"npm"}}, TempDir: t.TempDir(),
		Reserved: []registry.Reservation{{Pattern: "npm:corp-*", Owners: []string{"carol"}}, {Pattern: "npm:host-*"}}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"corp-lib": true, "host-lib": false, "other": false} {
		if local, err := reg.Local(ctx, "npm", name); err != nil || local != want {
			t.Errorf("Local(%s) = %v, %v; want %v", name, local, err, want)
		}
	}
}
