package registry_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// rebuildRules are rules whose releases can be rebuilt: the test
// uploads' metadata is {"v": version}.
type rebuildRules struct{ rules }

func (rebuildRules) Rebuild(ev *translog.Event, files []*registry.Staged) (*registry.Upload, error) {
	u := &registry.Upload{Ecosystem: trove.Ecosystem(ev.Ecosystem), Name: ev.Name, Version: ev.Version,
		Metadata: []byte(`{"v":"` + ev.Version + `"}`), Lines: ev.Lines}
	for i, f := range ev.Files {
		u.Files = append(u.Files, registry.UploadFile{Filename: f.Name, Kind: "tarball", Content: files[i]})
	}
	return u, nil
}

// logged is a registry whose log keeps its checkpoint in the state file
// and state store given.
type logged struct {
	db  *meta.DB
	reg *registry.Service
	log *translog.Log
}

func newLogged(t *testing.T, e *env, keyDir string, state translog.StateStore) *logged {
	t.Helper()
	dir := t.TempDir()
	db, err := meta.OpenSQLite(ctx, filepath.Join(dir, "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return openLogged(t, e, db, keyDir, state)
}

func openLogged(t *testing.T, e *env, db *meta.DB, keyDir string, state translog.StateStore) *logged {
	t.Helper()
	signer, vkey, err := translog.LoadOrCreateKey(keyDir, "log.example.test")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := translog.OpenWith(ctx, db, signer, vkey, translog.Options{State: state})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(registry.Config{DB: db, Blobs: e.blobs, Rules: []registry.Rules{rebuildRules{rules{"npm"}}}, TempDir: t.TempDir(),
		Now: func() time.Time { return e.now }, Log: tl})
	if err != nil {
		t.Fatal(err)
	}
	return &logged{db: db, reg: reg, log: tl}
}

// stateStore is a translog.StateStore over a blob store.
type stateStore struct{ blob.Store }

func (s stateStore) ReadState(c context.Context, name string) ([]byte, error) {
	b, err := s.Store.ReadState(c, name)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", translog.ErrNotFound, err)
	}
	return b, err
}

// history makes alice publish, tag, yank, deprecate, unyank, delete and
// change owners, and returns the number of records.
func history(t *testing.T, e *env, l *logged) int64 {
	t.Helper()
	e.reg = l.reg
	alice := userIn(t, e, l.db, "alice", true)
	userIn(t, e, l.db, "bob", false)
	e.publish(t, alice, "demo", "1.0", "one")
	e.publish(t, alice, "demo", "2.0", "two")
	e.publish(t, alice, "other", "1.0", "other")
	for _, c := range [][]registry.Change{
		{registry.AddOwner{User: "bob"}, registry.SetTag{Tag: "next", Version: "1.0"}},
		{registry.Yank{Version: "2.0", Reason: "broken"}, registry.Deprecate{Version: "1.0", Message: "use 2"}},
		{registry.Unyank{Version: "2.0"}, registry.RemoveTag{Tag: "next"}},
		{registry.Delete{Version: "1.0", Reason: "oops"}, registry.RemoveOwner{User: "bob"}},
	} {
		if err := l.reg.Apply(ctx, alice, "npm", "demo", c...); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := l.db.LogSize(ctx)
	return n
}

func TestReplayRebuildsARestoredDatabase(t *testing.T) {
	e := newEnv(t)
	keys, state := t.TempDir(), stateStore{e.blobs}
	live := newLogged(t, e, keys, state)
	history(t, e, live)
	// A database restored from a backup taken after the first release.
	old := newLogged(t, e, t.TempDir(), nil)
	alice := userIn(t, e, old.db, "alice", true)
	userIn(t, e, old.db, "bob", false)
	recs, _ := live.db.ReadLogRecords(ctx, 0, 2)
	if err := old.reg.Replay(ctx, 0, recs, false, nil); err != nil {
		t.Fatal(err)
	}
	restored := openLogged(t, e, old.db, keys, state)

	var refused error = restored.reg.Apply(ctx, nil, "npm", "demo", registry.Yank{Version: "1.0"})
	if !errors.Is(refused, trove.ErrUnavailable) || !errors.Is(refused, translog.ErrRollback) ||
		!strings.Contains(refused.Error(), "the transparency log has 2 records, but this server published a checkpoint of 13") {
		t.Fatalf("Apply on a restored database = %v, want ErrUnavailable saying what is missing", refused)
	}
	rec, err := restored.log.Missing(ctx, nil)
	if err != nil || rec.First != 2 || len(rec.Records) != 11 {
		t.Fatalf("Missing = %+v, %v", rec, err)
	}
	if problems, err := restored.reg.ReplayProblems(ctx, rec.First, rec.Records); err != nil || len(problems) != 0 {
		t.Fatalf("ReplayProblems = %q, %v", problems, err)
	}
	var seen []string
	if err := restored.reg.Replay(ctx, rec.First, rec.Records, true, func(r registry.Replayed) { seen = append(seen, r.Summary) }); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if n, _ := restored.db.LogSize(ctx); n != 2 || len(seen) != 11 || seen[0] != "publish npm demo 2.0" {
		t.Fatalf("dry run: log size %d, reported %q; want 2 and 11 records", n, seen)
	}
	// Half now, the rest in a second run (a crash in between).
	if err := restored.reg.Replay(ctx, rec.First, rec.Records[:4], false, nil); err != nil {
		t.Fatal(err)
	}
	rec, err = restored.log.Missing(ctx, nil)
	if err != nil || rec.First != 6 {
		t.Fatalf("Missing after a partial replay = %+v, %v", rec, err)
	}
	if err := restored.reg.Replay(ctx, rec.First, rec.Records, false, nil); err != nil {
		t.Fatal(err)
	}
	s, err := restored.log.Sign(ctx)
	if err != nil || s.Tree != live.log.Latest().Tree || restored.log.Writable() != nil {
		t.Fatalf("Sign after replay = %v, %v; want the published tree %v", s, err, live.log.Latest().Tree)
	}
	for _, name := range []string{"demo", "other"} {
		want, err1 := live.reg.Project(ctx, "npm", name)
		got, err2 := restored.reg.Project(ctx, "npm", name)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if diff := cmp.Diff(summarize(want), summarize(got)); diff != "" {
			t.Errorf("%s rebuilt differs (-published +rebuilt):\n%s", name, diff)
		}
	}
	// Writes work again, and extend the published log.
	e.reg = restored.reg
	e.publish(t, alice, "demo", "3.0", "three")
	if n := restored.log.Latest().Tree.N; n != 14 {
		t.Errorf("after a new publish the tree has %d records, want 14", n)
	}
}

func TestReplayReportsMissingBlobsAndUsers(t *testing.T) {
	e := newEnv(t)
	live := newLogged(t, e, t.TempDir(), nil)
	history(t, e, live)
	recs, _ := live.db.ReadLogRecords(ctx, 0, 13)
	ev, _ := translog.ParseEvent(recs[4])
	e.blobs.Delete(ctx, blob.Digest(ev.Files[0].SHA256))

	empty := newLogged(t, e, t.TempDir(), nil)
	userIn(t, e, empty.db, "alice", true)
	problems, err := empty.reg.ReplayProblems(ctx, 0, recs)
	if err != nil || len(problems) != 2 || !strings.Contains(problems[0], "record 4 (npm other 1.0): file other-1.0.tgz") ||
		!strings.Contains(problems[1], "no user bob") || !strings.Contains(problems[1], "trove admin user add bob") {
		t.Fatalf("ReplayProblems = %q, %v", problems, err)
	}
	err = empty.reg.Replay(ctx, 0, recs, false, nil)
	if err == nil || !strings.Contains(err.Error(), "record 4 (publish npm other): file other-1.0.tgz") || !strings.Contains(err.Error(), "is not in the blob store") {
		t.Errorf("Replay without a blob = %v", err)
	}
	if n, _ := empty.db.LogSize(ctx); n != 3 {
		t.Errorf("after a failed replay the log has %d records, want the 3 before the failure (the owner record 3 goes with its publish)", n)
	}
}

// A projection's facts that replay must rebuild.
type projection struct {
	Display  string
	Releases []string
	Files    []string
	Tags     []string
	Owners   []string
}

func summarize(p *registry.Project) projection {
	out := projection{Display: p.Package.DisplayName}
	for _, r := range p.Releases {
		out.Releases = append(out.Releases, fmt.Sprintf("%s %s %s %q %q %s %s", r.Version, r.State, r.Metadata, r.YankedReason, r.Deprecated,
			r.PublishedAt.Truncate(time.Second).UTC().Format(time.RFC3339), r.DeletedAt.Truncate(time.Second).UTC().Format(time.RFC3339)))
	}
	for _, f := range p.Files {
		out.Files = append(out.Files, fmt.Sprintf("%s %s %d %s %s %s %s %s", f.Filename, f.State, f.Size, f.SHA256, f.SHA512, f.SHA1, f.Blake2b256, f.MD5))
	}
	for _, tg := range p.Tags {
		out.Tags = append(out.Tags, tg.Tag+" "+tg.Version)
	}
	for _, o := range p.Owners {
		out.Owners = append(out.Owners, o.Name)
	}
	return out
}

// rebuild replays every record of live's log into a fresh database with
// the user (an administrator), as trove log recover would after losing
// the database, and returns it.
func rebuild(t *testing.T, e *env, live *logged, user string) *logged {
	t.Helper()
	n, _ := live.db.LogSize(ctx)
	recs, err := live.db.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	old := newLogged(t, e, t.TempDir(), nil)
	userIn(t, e, old.db, user, true)
	if err := old.reg.Replay(ctx, 0, recs, false, nil); err != nil {
		t.Fatal(err)
	}
	return old
}

// userIn adds a user to db.
func userIn(t *testing.T, e *env, db *meta.DB, name string, admin bool) *access.Principal {
	t.Helper()
	u := &trove.User{Name: name, Email: name + "@example.test", Admin: admin, CreatedAt: e.now}
	// Verified, as an operator's trove admin user add --verified: only
	// verified users may publish.
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertUser(ctx, u, "x"); err != nil {
			return err
		}
		return tx.SetEmailVerified(ctx, u.ID, u.Email, e.now)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &access.Principal{UserID: u.ID, UserName: name, Admin: admin, Packages: []access.Pattern{"*"}, Actions: access.Actions, Level: trove.AuthMFA}
}

func TestReplayRebuildsImportsAndExceptions(t *testing.T) {
	e := newEnv(t)
	live := newLogged(t, e, t.TempDir(), nil)
	e.reg = live.reg
	alice := userIn(t, e, live.db, "alice", true)
	e.publish(t, alice, "mine", "1.0", "local")
	if _, err := e.imp(t, "theirs", "1.0", "upstream bytes"); err != nil {
		t.Fatal(err)
	}
	if err := live.reg.Except(ctx, "alice", "npm", "fork", meta.ExceptLocal, "ours"); err != nil {
		t.Fatal(err)
	}
	if err := live.reg.Except(ctx, "alice", "npm", "mine-too", meta.ExceptUpstream, "theirs"); err != nil {
		t.Fatal(err)
	}
	if err := live.reg.Except(ctx, "alice", "npm", "mine-too", "", "changed my mind"); err != nil {
		t.Fatal(err)
	}
	n, _ := live.db.LogSize(ctx)
	empty := rebuild(t, e, live, "alice")
	if m, _ := empty.db.LogSize(ctx); m != n {
		t.Fatalf("replayed log has %d records, want %d", m, n)
	}
	got, err := empty.reg.Project(ctx, "npm", "theirs")
	if err != nil || !got.Package.Upstream || got.Releases[0].Source != "public" || len(got.Owners) != 0 {
		t.Fatalf("replayed import = %+v, %v", got, err)
	}
	want, _ := live.reg.Project(ctx, "npm", "theirs")
	if diff := cmp.Diff(summarize(want), summarize(got)); diff != "" {
		t.Errorf("replayed import differs (-imported +replayed):\n%s", diff)
	}
	es, err := empty.reg.Exceptions(ctx)
	if err != nil || len(es) != 1 || es[0].Name != "fork" || es[0].Kind != meta.ExceptLocal || es[0].Reason != "ours" {
		t.Fatalf("replayed exceptions = %+v, %v", es, err)
	}
}

// TestReplayRebuildsPrivatePackages: a private package's salted records
// rebuild it private, and an access record switches it.
func TestReplayRebuildsPrivatePackages(t *testing.T) {
	e := newEnv(t)
	live := newLogged(t, e, t.TempDir(), nil)
	e.reg = live.reg
	alice := userIn(t, e, live.db, "alice", true)
	up := e.upload(t, "sec", "1.0", map[string]string{"sec-1.0.tgz": "s"})
	up.Private = true
	if _, err := live.reg.Publish(ctx, alice, up); err != nil {
		t.Fatal(err)
	}
	e.publish(t, alice, "demo", "1.0", "d")
	if err := live.reg.SetPrivate(ctx, alice, "npm", "demo", true); err != nil {
		t.Fatal(err)
	}
	old := rebuild(t, e, live, "alice")
	for _, name := range []trove.Name{"sec", "demo"} {
		if p, err := old.db.Package(ctx, "npm", name); err != nil || !p.Private {
			t.Errorf("rebuilt %s = %+v, %v; want it private", name, p, err)
		}
	}
}
