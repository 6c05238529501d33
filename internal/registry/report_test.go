package registry_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/limit"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/trove"
)

// TestReports: reports are refused for their own faults before anything
// is stored, one open report per user and target, at most the report
// rate per user (ErrTooMany with when to retry), a private package is
// reported by a non-reader exactly as a name never published; the queue
// and its actions are for administrators only (an owner cannot take down
// or dismiss); a dismissal closes the reports, and the reporter may
// report again.
func TestReports(t *testing.T) {
	e := newEnv(t)
	root, alice, bob := e.user(t, "root", true), e.user(t, "alice", false), e.user(t, "bob", false)
	e.publish(t, alice, "demo", "1.0.0", "a")
	e.publish(t, alice, "demo", "1.1.0", "b")
	up := e.upload(t, "sec", "1.0.0", map[string]string{"sec-1.0.0.tgz": "s"})
	up.Private = true
	if _, err := e.reg.Publish(ctx, alice, up); err != nil {
		t.Fatal(err)
	}
	e.reg.SetReportRate(limit.NewRates(limit.Rate{N: 3, Per: time.Hour}, func() time.Time { return e.now }))
	bctx := access.WithPrincipal(ctx, bob)
	report := func(who *access.Principal, name, version, category, reason string) error {
		return e.reg.Report(access.WithPrincipal(ctx, who), who, registry.ReportInput{
			Target: trove.Target{Ecosystem: "npm", Name: name, Version: version}, Category: category, Reason: reason})
	}

	for _, tc := range []struct {
		who                             *access.Principal
		name, version, category, reason string
		want                            error
	}{
		{nil, "demo", "", "malicious", "x", access.ErrUnauthenticated},
		{bob, "demo", "", "nasty", "x", trove.ErrInvalid},
		{bob, "demo", "", "malicious", " ", trove.ErrInvalid},
		{bob, "demo", "", "malicious", strings.Repeat("x", registry.MaxReportReason+1), trove.ErrInvalid},
		{bob, "demo", "", "malicious", "\xff", trove.ErrInvalid},
		{bob, "demo", "9.9.9", "malicious", "x", trove.ErrNotFound},
		{bob, "never", "", "malicious", "x", trove.ErrNotFound},
		{bob, "sec", "", "malicious", "x", trove.ErrNotFound},
	} {
		if err := report(tc.who, tc.name, tc.version, tc.category, tc.reason); !errors.Is(err, tc.want) {
			t.Errorf("Report(%s %q %q %q) = %v, want %v", tc.name, tc.version, tc.category, tc.reason, err, tc.want)
		}
	}
	// Private: the very answer of a name never published.
	errSec, errNever := report(bob, "sec", "1.0.0", "malicious", "x"), report(bob, "never", "1.0.0", "malicious", "x")
	if errSec == nil || errNever == nil || errSec.Error() != strings.ReplaceAll(errNever.Error(), "never", "sec") {
		t.Errorf("reporting a private package = %v; a name never published = %v: want the same answer", errSec, errNever)
	}
	if q, err := e.reg.Queue(ctx, root); err != nil || len(q.Reports) != 0 {
		t.Fatalf("refused reports were stored: %+v, %v", q, err)
	}

	if err := report(bob, "demo", "1.1.0", "malicious", "postinstall pipes curl into sh"); err != nil {
		t.Fatal(err)
	}
	if err := report(bob, "demo", "1.1.0", "spam", "again"); !errors.Is(err, trove.ErrExists) {
		t.Errorf("a second open report on the same target = %v, want ErrExists", err)
	}
	if err := report(bob, "demo", "", "typosquat", "the package"); err != nil {
		t.Fatal(err)
	}
	if err := report(alice, "sec", "1.0.0", "other", "the owner may report her private package"); err != nil {
		t.Errorf("a reader reporting a private package: %v", err)
	}
	// bob has filed 3 (the refused duplicate counted too): the 4th waits.
	err := report(bob, "demo", "1.0.0", "malicious", "x")
	if after, ok := trove.RetryAfter(err); !errors.Is(err, trove.ErrTooMany) || !ok || after <= 0 {
		t.Errorf("a report beyond the rate = %v (retry after %d), want ErrTooMany with a delay", err, after)
	}

	// The queue and its actions: administrators only.
	if _, err := e.reg.Queue(bctx, bob); !errors.Is(err, access.ErrDenied) {
		t.Errorf("Queue(bob) = %v, want ErrDenied", err)
	}
	demo11 := trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.1.0"}
	for _, who := range []*access.Principal{bob, alice} {
		if err := e.reg.TakeDown(access.WithPrincipal(ctx, who), who, demo11, "x", true); !errors.Is(err, access.ErrDenied) {
			t.Errorf("TakeDown by %s = %v, want ErrDenied", who.UserName, err)
		}
		if err := e.reg.Dismiss(access.WithPrincipal(ctx, who), who, demo11, "x"); !errors.Is(err, access.ErrDenied) {
			t.Errorf("Dismiss by %s = %v, want ErrDenied", who.UserName, err)
		}
		if err := e.reg.ReleaseReported(access.WithPrincipal(ctx, who), who, demo11, "x"); !errors.Is(err, access.ErrDenied) {
			t.Errorf("ReleaseReported by %s = %v, want ErrDenied", who.UserName, err)
		}
	}
	q, err := e.reg.Queue(ctx, root)
	if err != nil || len(q.Reports) != 3 {
		t.Fatalf("Queue = %+v, %v; want 3 targets", q, err)
	}
	// Reports filed at once are queued by target: the package, then its release.
	if r := q.Reports[1]; r.Name != "demo" || r.Version != "1.1.0" || r.Count != 1 || r.Reporters[0] != "bob" || r.Categories[0] != "malicious" || !r.Visible {
		t.Errorf("queued release = %+v", r)
	}
	if !q.Reports[2].Private {
		t.Errorf("the private package's report is not marked private: %+v", q.Reports[2])
	}

	if err := e.reg.Dismiss(ctx, root, demo11, "the script is a build step"); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.Dismiss(ctx, root, demo11, ""); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("dismissing again = %v, want ErrNotFound", err)
	}
	if q, _ := e.reg.Queue(ctx, root); len(q.Reports) != 2 {
		t.Errorf("after the dismissal the queue holds %d targets, want 2", len(q.Reports))
	}
	e.now = e.now.Add(time.Hour)
	if err := report(bob, "demo", "1.1.0", "malicious", "it changed"); err != nil {
		t.Errorf("reporting again after a dismissal: %v", err)
	}
}

// TestReplayRebuildsAdvisories: a takedown as malicious is an OSV
// advisory, and a database rebuilt from the transparency log has it
// again; a plain takedown is none.
func TestReplayRebuildsAdvisories(t *testing.T) {
	e := newEnv(t)
	live := newLogged(t, e, t.TempDir(), nil)
	e.reg = live.reg
	root := userIn(t, e, live.db, "root", true)
	e.publish(t, root, "bad", "1.0.0", "x")
	e.publish(t, root, "bad", "1.0.1", "y")
	if err := live.reg.TakeDown(ctx, root, trove.Target{Ecosystem: "npm", Name: "bad", Version: "1.0.1"}, "steals tokens", true); err != nil {
		t.Fatal(err)
	}
	if err := live.reg.TakeDown(ctx, root, trove.Target{Ecosystem: "npm", Name: "bad", Version: "1.0.0"}, "license", false); err != nil {
		t.Fatal(err)
	}
	want, err := live.db.Advisories(ctx, 10)
	if err != nil || len(want) != 1 || want[0].Version != "1.0.1" || want[0].Summary != "steals tokens" {
		t.Fatalf("advisories = %+v, %v; want one, for 1.0.1", want, err)
	}
	old := rebuild(t, e, live, "root")
	got, err := old.db.Advisories(ctx, 10)
	if err != nil || len(got) != 1 || *got[0] != *want[0] {
		t.Errorf("rebuilt advisories = %+v, %v; want %+v", got, err, want[0])
	}
	for _, v := range []string{"1.0.0", "1.0.1"} {
		if d, err := old.reg.Deleted(ctx, "npm", "bad", v); err != nil || !d {
			t.Errorf("rebuilt bad %s: deleted = %v, %v; want a tombstone", v, d, err)
		}
	}
}
