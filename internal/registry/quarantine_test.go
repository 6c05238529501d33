package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// TestQuarantine: an administrator's quarantine takes a visible release
// out of every read (the project, its file, the version's log lookup
// stays), keeps its version and filename taken, leaves its dist-tag and
// its reports alone, tells the owners, and is logged with its reason;
// only administrators may; the owners cannot change it meanwhile. Its
// release puts it back as it was (yanked stays yanked), closes the
// reports and tells the reporters; a quarantined release can be taken
// down for good, and a takedown forgets the quarantine.
func TestQuarantine(t *testing.T) {
	e := newEnv(t)
	root, alice, bob := e.user(t, "root", true), e.user(t, "alice", false), e.user(t, "bob", false)
	e.publish(t, alice, "demo", "1.0.0", "a")
	e.publish(t, alice, "demo", "1.1.0", "b")
	var told []registry.Decision
	e.reg.SetTakedownNotice(func(_ context.Context, _ *meta.Tx, d registry.Decision) error {
		told = append(told, d)
		return nil
	})
	demo11 := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.1.0"}
	if err := e.reg.Report(access.WithPrincipal(ctx, bob), bob, registry.ReportInput{Target: demo11, Category: "malicious", Reason: "curl | sh"}); err != nil {
		t.Fatal(err)
	}
	for _, who := range []*access.Principal{alice, bob} {
		if err := e.reg.Quarantine(access.WithPrincipal(ctx, who), who, demo11, "x"); !errors.Is(err, access.ErrDenied) {
			t.Errorf("Quarantine by %s = %v, want ErrDenied", who.UserName, err)
		}
	}
	for _, tc := range []struct {
		target trove.Target
		reason string
		want   error
	}{
		{demo11, " ", trove.ErrInvalid},
		{demo11, strings.Repeat("x", registry.MaxReasonLen+1), trove.ErrInvalid},
		{trove.Target{Ecosystem: "npm", Name: "demo"}, "x", trove.ErrInvalid},
		{trove.Target{Ecosystem: "npm", Name: "demo", Version: "9.9.9"}, "x", trove.ErrNotFound},
		{trove.Target{Ecosystem: "npm", Name: "never", Version: "1.0.0"}, "x", trove.ErrNotFound},
	} {
		if err := e.reg.Quarantine(ctx, root, tc.target, tc.reason); !errors.Is(err, tc.want) {
			t.Errorf("Quarantine(%+v, %.10q) = %v, want %v", tc.target, tc.reason, err, tc.want)
		}
	}
	size0, _ := e.db.LogSize(ctx)
	if len(told) != 0 || size0 == 0 {
		t.Fatalf("refused quarantines told %v", told)
	}

	if err := e.reg.Quarantine(ctx, root, demo11, "reported: postinstall pipes curl into sh"); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0].Action != "quarantined" || !told[0].Quarantine || len(told[0].Owners) != 1 || len(told[0].Reporters) != 0 {
		t.Errorf("quarantine told %+v, want the owner", told)
	}
	p, err := e.reg.Project(ctx, "npm", "demo")
	if err != nil || len(p.Releases) != 1 || p.Releases[0].Version != "1.0.0" || len(p.Files) != 1 {
		t.Fatalf("Project after the quarantine = %+v, %v; want 1.0.0 alone", p, err)
	}
	if _, err := e.reg.File(ctx, "npm", "demo", "demo-1.1.0.tgz"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("the quarantined file: %v, want ErrNotFound", err)
	}
	if d, err := e.reg.Deleted(ctx, "npm", "demo", "1.1.0"); err != nil || d {
		t.Errorf("a quarantined release is a tombstone: %v, %v", d, err)
	}
	if _, err := e.reg.Publish(ctx, alice, e.upload(t, "demo", "1.1.0", map[string]string{"demo-1.1.0-b.tgz": "c"})); !errors.Is(err, trove.ErrExists) ||
		!strings.Contains(err.Error(), "quarantined") {
		t.Errorf("publishing over the quarantined version: %v, want ErrExists saying it is quarantined", err)
	}
	actx := access.WithPrincipal(ctx, alice)
	if err := e.reg.Yank(actx, alice, demo11, "mine"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("the owner yanking the quarantined release: %v, want ErrNotFound", err)
	}
	if err := e.reg.Quarantine(ctx, root, demo11, "again"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("quarantining twice: %v, want ErrNotFound", err)
	}
	tags, _ := e.db.DistTags(ctx, p.Package.ID)
	if len(tags) != 1 || tags[0].Tag != "latest" {
		t.Errorf("tags after the quarantine: %+v, want latest left where it was", tags)
	}
	q, err := e.reg.Queue(ctx, root)
	if err != nil || len(q.Quarantined) != 1 || q.Quarantined[0].Version != "1.1.0" || q.Quarantined[0].PriorState != trove.Published ||
		q.Quarantined[0].By != "root" || len(q.Reports) != 1 || !q.Reports[0].Quarantined || q.Reports[0].Visible {
		t.Fatalf("Queue after the quarantine = %+v, %v", q, err)
	}
	_, ev := lastEvent(t, e)
	if ev.Kind != "quarantine" || ev.Version != "1.1.0" || ev.Reason == nil || *ev.Reason != "reported: postinstall pipes curl into sh" || len(ev.Tags) != 0 {
		t.Errorf("the quarantine record: %+v", ev)
	}

	// Released: back as it was, reports closed, the reporter told.
	told = nil
	if err := e.reg.ReleaseReported(actx, alice, demo11, "x"); !errors.Is(err, access.ErrDenied) {
		t.Errorf("the owner releasing the quarantine: %v, want ErrDenied", err)
	}
	if err := e.reg.ReleaseReported(ctx, root, demo11, "the script builds a native module"); err != nil {
		t.Fatal(err)
	}
	p, err = e.reg.Project(ctx, "npm", "demo")
	if err != nil || len(p.Releases) != 2 || len(p.Files) != 2 {
		t.Fatalf("Project after the release = %+v, %v", p, err)
	}
	if len(told) != 1 || told[0].Action != "released" || len(told[0].Reporters) != 1 {
		t.Errorf("release told %+v, want the owner and the reporter", told)
	}
	if q, _ := e.reg.Queue(ctx, root); len(q.Quarantined) != 0 || len(q.Reports) != 0 {
		t.Errorf("queue after the release: %+v", q)
	}
	if _, ev := lastEvent(t, e); ev.Kind != "unquarantine" || ev.Version != "1.1.0" || ev.Reason == nil {
		t.Errorf("the release record: %+v", ev)
	}

	// A yanked release comes back yanked; a quarantined one is taken down.
	if err := e.reg.Yank(actx, alice, trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0.0"}, "old"); err != nil {
		t.Fatal(err)
	}
	demo10 := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0.0"}
	if err := e.reg.Quarantine(ctx, root, demo10, "look"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.ReleaseReported(ctx, root, demo10, ""); err != nil {
		t.Fatal(err)
	}
	if rel, err := e.db.Release(ctx, p.Package.ID, "1.0"); err != nil || rel.State != trove.Yanked || rel.YankedReason != "old" {
		t.Errorf("the yanked release after its quarantine: %+v, %v", rel, err)
	}
	if err := e.reg.Quarantine(ctx, root, demo11, "reported again"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.TakeDown(ctx, root, demo11, "steals tokens", true); err != nil {
		t.Fatal(err)
	}
	if d, err := e.reg.Deleted(ctx, "npm", "demo", "1.1.0"); err != nil || !d {
		t.Errorf("the quarantined release taken down: deleted %v, %v", d, err)
	}
	if q, _ := e.reg.Queue(ctx, root); len(q.Quarantined) != 0 {
		t.Errorf("a release taken down is still listed quarantined: %+v", q.Quarantined)
	}
}

// TestQuarantineOfAWholePackage: a package whose every release is
// quarantined is not found by anyone but the administrators, who can
// still release or take down its releases.
func TestQuarantineOfAWholePackage(t *testing.T) {
	e := newEnv(t)
	root, alice := e.user(t, "root", true), e.user(t, "alice", false)
	e.publish(t, alice, "solo", "1.0.0", "a")
	solo := trove.Target{Ecosystem: "npm", Name: "solo", Version: "1.0.0"}
	if err := e.reg.Quarantine(ctx, root, solo, "malware"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Project(ctx, "npm", "solo"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Project of a package all quarantined: %v, want ErrNotFound", err)
	}
	if _, err := e.reg.View(ctx, "npm", "solo"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("View of a package all quarantined: %v, want ErrNotFound", err)
	}
	actx := access.WithPrincipal(ctx, alice)
	if err := e.reg.Apply(actx, alice, "npm", "solo", registry.AddOwner{User: "root"}); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("the owner changing a package all quarantined: %v, want ErrNotFound", err)
	}
	if err := e.reg.ReleaseReported(ctx, root, solo, "false alarm"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.Project(ctx, "npm", "solo"); err != nil {
		t.Errorf("Project after the release: %v", err)
	}
}

// TestReplayRebuildsQuarantines: a database rebuilt from the log has the
// quarantines, their releases and the takedown of a quarantined release,
// and the quarantined release can then be released as before.
func TestReplayRebuildsQuarantines(t *testing.T) {
	e := newEnv(t)
	live := newLogged(t, e, t.TempDir(), nil)
	e.reg = live.reg
	root := userIn(t, e, live.db, "root", true)
	e.publish(t, root, "q", "1.0.0", "x")
	e.publish(t, root, "q", "1.0.1", "y")
	e.publish(t, root, "q", "1.0.2", "z")
	target := func(v string) trove.Target { return trove.Target{Ecosystem: "npm", Name: "q", Version: v} }
	if err := live.reg.Yank(ctx, root, target("1.0.0"), "old"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.0.1", "1.0.2"} {
		if err := live.reg.Quarantine(ctx, root, target(v), "look at "+v); err != nil {
			t.Fatal(err)
		}
	}
	if err := live.reg.ReleaseReported(ctx, root, target("1.0.1"), "fine"); err != nil {
		t.Fatal(err)
	}
	if err := live.reg.TakeDown(ctx, root, target("1.0.2"), "bad", false); err != nil {
		t.Fatal(err)
	}
	old := rebuild(t, e, live, "root")
	states := func(db *meta.DB) map[string]trove.State {
		pkg, err := db.Package(ctx, "npm", "q")
		if err != nil {
			t.Fatal(err)
		}
		rels, err := db.Releases(ctx, pkg.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]trove.State{}
		for _, r := range rels {
			out[r.Version] = r.State
		}
		return out
	}
	want := map[string]trove.State{"1.0.0": trove.Suspended, "1.0.1": trove.Published, "1.0.2": trove.Deleted}
	for db, name := range map[*meta.DB]string{live.db: "live", old.db: "rebuilt"} {
		if got := states(db); len(got) != 3 || got["1.0.0"] != want["1.0.0"] || got["1.0.1"] != want["1.0.1"] || got["1.0.2"] != want["1.0.2"] {
			t.Errorf("%s states = %v, want %v", name, got, want)
		}
	}
	qs, err := old.db.QuarantinedReleases(ctx, 10)
	if err != nil || len(qs) != 1 || qs[0].Version != "1.0.0" || qs[0].PriorState != trove.Yanked || qs[0].Reason != "look at 1.0.0" {
		t.Fatalf("rebuilt quarantines = %+v, %v", qs, err)
	}
	if err := old.reg.ReleaseReported(ctx, root, target("1.0.0"), "fine"); err != nil {
		t.Fatal(err)
	}
	if got := states(old.db)["1.0.0"]; got != trove.Yanked {
		t.Errorf("released after recovery: %s, want yanked", got)
	}
}
