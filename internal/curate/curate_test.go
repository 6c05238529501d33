package curate_test

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
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/curate"
	"github.com/trove-dev/trove/internal/goproxy"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/upstream"
)

var ctx = context.Background()

// env is a registry with npm, PyPI and Go rules and a curation service,
// on a clock the test moves.
type env struct {
	db  *meta.DB
	reg *registry.Service
	cur *curate.Service
	now time.Time
}

func newEnv(t testing.TB, db *meta.DB) *env {
	t.Helper()
	e := &env{db: db, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return e.now }
	var err error
	e.reg, err = registry.New(registry.Config{DB: db, Blobs: memblob.New(), Rules: []registry.Rules{npm.Rules{}, pypi.Rules{}, goproxy.Rules{}},
		TempDir: filepath.Join(t.TempDir(), "tmp"), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	e.cur, err = curate.New(curate.Options{DB: db, Registry: e.reg, Contact: "platform-team@example.test", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// user returns the principal of a new user with a token allowing every action.
func (e *env) user(t testing.TB, name string, admin bool) *access.Principal {
	t.Helper()
	u := &trove.User{Name: name, Email: name + "@example.test", Admin: admin, CreatedAt: e.now}
	// Verified, as an operator's trove admin user add --verified: only
	// verified users may publish.
	err := e.db.Tx(ctx, func(tx *meta.Tx) error {
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

func (e *env) policy(t testing.TB, who *access.Principal, eco trove.Ecosystem, pattern, mode string, minAge time.Duration, scripts string) {
	t.Helper()
	c := curate.PolicyChange{Ecosystem: eco, Pattern: pattern, Why: "test"}
	if mode != "" {
		c.Mode = &mode
	}
	if minAge != 0 {
		c.MinAge = &minAge
	}
	if scripts != "" {
		c.InstallScripts = &scripts
	}
	if _, err := e.cur.SetPolicy(ctx, who, c); err != nil {
		t.Fatalf("SetPolicy(%s %s) = %v", eco, pattern, err)
	}
}

func (e *env) mark(t testing.TB, who *access.Principal, c curate.MarkChange) {
	t.Helper()
	if c.Why == "" {
		c.Why = "test"
	}
	if _, err := e.cur.Mark(ctx, who, c); err != nil {
		t.Fatalf("Mark(%+v) = %v", c, err)
	}
}

// rules returns "version:rule" for each version, "ok:rule" when allowed.
func (e *env) decide(t testing.TB, vs ...curate.Version) []string {
	t.Helper()
	ds, err := e.cur.Decide(ctx, vs)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, d := range ds {
		state := "blocked"
		if d.Allowed {
			state = "ok"
		}
		out = append(out, fmt.Sprintf("%s %s:%s", vs[i].Version, state, d.Rule))
	}
	return out
}

func v(eco trove.Ecosystem, name, version string, published time.Time) curate.Version {
	return curate.Version{Ecosystem: eco, Name: trove.Name(name), Version: version, Published: published}
}

// TestDecide runs every rule on both database engines.
func TestDecide(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			e := newEnv(t, engine.Open(t))
			admin := e.user(t, "root", true)
			old, young := e.now.Add(-100*time.Hour), e.now.Add(-2*time.Hour)

			// Nothing configured: everything is allowed.
			got := e.decide(t, v(trove.NPM, "left-pad", "1.0.0", young), v(trove.NPM, "left-pad", "1.1.0", time.Time{}))
			want := []string{"1.0.0 ok:open", "1.1.0 ok:open"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("no policy (-want +got):\n%s", diff)
			}

			e.policy(t, admin, trove.NPM, "*", "", 72*time.Hour, "block")
			e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: ">=2.0.0 <3.0.0", Kind: curate.Deny})
			e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "@evil/*", Kind: curate.Malicious})
			e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: "1.2.0", Kind: curate.Tag})
			scripts := v(trove.NPM, "left-pad", "1.3.0", old)
			scripts.InstallScripts = true
			got = e.decide(t,
				v(trove.NPM, "left-pad", "1.0.0", old),
				v(trove.NPM, "left-pad", "1.1.0", young),
				v(trove.NPM, "left-pad", "1.2.0", young), // approved: over the cool-down
				scripts,
				v(trove.NPM, "left-pad", "1.4.0", time.Time{}), // unknown age: fail closed
				v(trove.NPM, "left-pad", "2.5.0", old),
				v(trove.NPM, "@evil/thing", "1.0.0", old),
				v(trove.PyPI, "left-pad", "1.1.0", young), // policies are per ecosystem
			)
			want = []string{"1.0.0 ok:open", "1.1.0 blocked:cooldown", "1.2.0 ok:approved", "1.3.0 blocked:install-scripts",
				"1.4.0 blocked:cooldown", "2.5.0 blocked:deny-list", "1.0.0 blocked:malicious", "1.1.0 ok:open"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("policies (-want +got):\n%s", diff)
			}

			// Approved-only for a scope; an allow mark on a range lets some through.
			e.policy(t, admin, trove.NPM, "@acme/*", curate.ModeApprovedOnly, 0, "")
			e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "@acme/util", Versions: "^1.0.0", Kind: curate.Allow})
			got = e.decide(t, v(trove.NPM, "@acme/util", "1.5.0", young), v(trove.NPM, "@acme/util", "2.0.0", old), v(trove.NPM, "@acme/other", "1.0.0", old))
			want = []string{"1.5.0 ok:allow-list", "2.0.0 blocked:approved-only", "1.0.0 blocked:approved-only"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("approved-only (-want +got):\n%s", diff)
			}

			// A package's own policy is more specific than the ecosystem's.
			e.policy(t, admin, trove.NPM, "left-pad", "", -1, "allow")
			zero := time.Duration(0)
			if _, err := e.cur.SetPolicy(ctx, admin, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "left-pad", MinAge: &zero}); err != nil {
				t.Fatal(err)
			}
			got = e.decide(t, v(trove.NPM, "left-pad", "1.1.0", young), scripts, v(trove.NPM, "right-pad", "1.1.0", young))
			want = []string{"1.1.0 ok:open", "1.3.0 ok:open", "1.1.0 blocked:cooldown"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("own policy (-want +got):\n%s", diff)
			}

			// The cool-down ends on time: decisions are not cached.
			e.now = e.now.Add(71 * time.Hour)
			got = e.decide(t, v(trove.NPM, "right-pad", "1.1.0", young))
			if diff := cmp.Diff([]string{"1.1.0 ok:open"}, got); diff != "" {
				t.Fatalf("after the cool-down (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPyPIAndGoSpecs: versions are compared by their canonical keys and
// ranges in each ecosystem's syntax; Go has no ranges.
func TestPyPIAndGoSpecs(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	admin := e.user(t, "root", true)
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.PyPI, Name: "Django_Thing", Versions: ">=2.0,<3", Kind: curate.Deny})
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.PyPI, Name: "django-thing", Versions: "1.0", Kind: curate.Deny})
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.Go, Name: "example.com/mod", Versions: "v1.2.0", Kind: curate.Deny})
	got := e.decide(t, v(trove.PyPI, "django-thing", "2.1", time.Time{}), v(trove.PyPI, "django-thing", "1.0.0", time.Time{}),
		v(trove.PyPI, "django-thing", "3.0", time.Time{}), v(trove.Go, "example.com/mod", "v1.2.0", time.Time{}), v(trove.Go, "example.com/mod", "v1.3.0", time.Time{}))
	want := []string{"2.1 blocked:deny-list", "1.0.0 blocked:deny-list", "3.0 ok:open", "v1.2.0 blocked:deny-list", "v1.3.0 ok:open"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	_, err := e.cur.Mark(ctx, admin, curate.MarkChange{Ecosystem: trove.Go, Name: "example.com/mod", Versions: ">=v1.0.0", Kind: curate.Deny, Why: "x"})
	if !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), "one version") {
		t.Errorf("a Go range = %v, want ErrInvalid saying Go constraints name one version", err)
	}
}

// TestBadChangesChangeNothing: every bad input is refused with a clear
// error before anything is written or logged.
func TestBadChangesChangeNothing(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	admin := e.user(t, "root", true)
	mode, scripts, long := "closed", "sometimes", time.Duration(400*24)*time.Hour
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"unknown ecosystem", policyErr(e, admin, curate.PolicyChange{Ecosystem: "cargo", Pattern: "*", Mode: ptr("open")}), "unknown ecosystem"},
		{"nothing to change", policyErr(e, admin, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "*"}), "no policy setting"},
		{"bad mode", policyErr(e, admin, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "*", Mode: &mode}), "want open, approved-only or inherit"},
		{"bad scripts", policyErr(e, admin, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "*", InstallScripts: &scripts}), "want allow, block or inherit"},
		{"cool-down too long", policyErr(e, admin, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "*", MinAge: &long}), "at most 365d"},
		{"bad name", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "Bad Name", Kind: curate.Deny, Why: "x"}), "uppercase"},
		{"bad kind", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Kind: "ban", Why: "x"}), "want allow, deny, malicious or tag"},
		{"bad range", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Versions: ">>nope", Kind: curate.Deny, Why: "x"}), "neither a npm version nor a range"},
		{"no reason", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Kind: curate.Deny}), "give a reason"},
		{"tag on a pattern", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "@a/*", Versions: "1.0.0", Kind: curate.Tag, Why: "x"}), "a tag names one package"},
		{"tag on a range", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Versions: "^1.0.0", Kind: curate.Tag, Why: "x"}), "a tag is on one version"},
		{"bad tag", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Versions: "1.0.0", Kind: curate.Tag, Tag: "no good", Why: "x"}), "a tag is up to 64"},
		{"remove a missing mark", markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Kind: curate.Deny, Remove: true}), "is not marked deny"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", c.name, c.err, c.want)
		}
	}
	if n, _ := e.db.LogSize(ctx); n != 0 {
		t.Errorf("log size = %d after refused changes, want 0", n)
	}
	if v, _ := e.cur.Show(ctx, admin, trove.NPM, ""); len(v.Policies)+len(v.Marks) != 0 {
		t.Errorf("Show = %+v after refused changes, want nothing", v)
	}
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Kind: curate.Deny})
	if err := markErr(e, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "a", Kind: curate.Deny, Why: "again"}); !errors.Is(err, trove.ErrExists) {
		t.Errorf("marking twice = %v, want ErrExists", err)
	}
}

func ptr(s string) *string { return &s }

func policyErr(e *env, who *access.Principal, c curate.PolicyChange) error {
	_, err := e.cur.SetPolicy(ctx, who, c)
	return err
}

func markErr(e *env, who *access.Principal, c curate.MarkChange) error {
	_, err := e.cur.Mark(ctx, who, c)
	return err
}

// TestOnlyCuratorsCurate: administrators and curators with a token
// carrying the curate action on the target; nobody else.
func TestOnlyCuratorsCurate(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	admin := e.user(t, "root", true)
	alice := e.user(t, "alice", false)
	deny := curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Kind: curate.Deny, Why: "x"}
	readOnly := *admin
	readOnly.Actions = []access.Action{access.Read, access.Publish, access.Yank}
	scoped := *admin
	scoped.Packages = []access.Pattern{"npm:@acme/*"}
	for _, c := range []struct {
		name string
		who  *access.Principal
		want error
	}{
		{"anonymous", nil, access.ErrUnauthenticated},
		{"not a curator", alice, access.ErrDenied},
		{"token without curate", &readOnly, access.ErrDenied},
		{"token scoped elsewhere", &scoped, access.ErrDenied},
	} {
		if _, err := e.cur.Mark(ctx, c.who, deny); !errors.Is(err, c.want) {
			t.Errorf("%s: Mark = %v, want %v", c.name, err, c.want)
		}
		if _, err := e.cur.Show(ctx, c.who, trove.NPM, "left-pad"); !errors.Is(err, c.want) {
			t.Errorf("%s: Show = %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := e.cur.SetPolicy(ctx, &scoped, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "@acme/*", Mode: ptr("approved-only")}); err != nil {
		t.Errorf("a token scoped to @acme/* setting @acme/*'s policy: %v", err)
	}
	if err := curate.AddCurator(ctx, e.db, "alice", "root", e.now); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cur.Mark(ctx, alice, deny); err != nil {
		t.Errorf("a curator: Mark = %v", err)
	}
	if err := curate.RemoveCurator(ctx, e.db, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cur.Mark(ctx, alice, curate.MarkChange{Ecosystem: trove.NPM, Name: "x", Kind: curate.Deny, Why: "x"}); !errors.Is(err, access.ErrDenied) {
		t.Errorf("a former curator: Mark = %v, want ErrDenied", err)
	}
}

// TestEveryDecisionIsLogged: each change appends one record that
// translog.ParseEvent reads, and a change-feed entry under its name or
// pattern.
func TestEveryDecisionIsLogged(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	admin := e.user(t, "root", true)
	before, _ := e.db.LastSerial(ctx)
	e.policy(t, admin, trove.NPM, "@acme/*", curate.ModeApprovedOnly, 72*time.Hour, "block")
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "@acme/util", Versions: "1.0.0", Kind: curate.Tag, Why: "reviewed by security"})
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: ">=2 <3", Kind: curate.Deny, Why: "breaks builds"})
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: ">=2 <3", Kind: curate.Deny, Remove: true})
	records, err := e.db.ReadLogRecords(ctx, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range records {
		ev, err := translog.ParseEvent(r)
		if err != nil {
			t.Fatalf("ParseEvent(%q) = %v", r, err)
		}
		got = append(got, strings.Join(append([]string{ev.Kind, ev.Name, ev.Version, *ev.Reason}, ev.Lines...), "|"))
	}
	want := []string{
		`policy|@acme/*||test|@acme/* mode approved-only|@acme/* min-age 259200s|@acme/* install-scripts block|@acme/* by root`,
		`curate|@acme/util|1.0.0|reviewed by security|@acme/util add tag approved|@acme/util versions 1.0.0|@acme/util by root`,
		`curate|left-pad||breaks builds|left-pad add deny -|left-pad versions >=2 <3|left-pad by root`,
		`curate|left-pad||test|left-pad remove deny -|left-pad versions >=2 <3|left-pad by root`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	changes, err := e.db.ChangesSince(ctx, before, 10)
	if err != nil {
		t.Fatal(err)
	}
	var feed []string
	for _, c := range changes {
		feed = append(feed, c.Kind+" "+c.Name)
	}
	if diff := cmp.Diff([]string{"policy @acme/*", "curate @acme/util", "curate left-pad", "curate left-pad"}, feed); diff != "" {
		t.Errorf("change feed (-want +got):\n%s", diff)
	}
}

// TestCacheFollowsTheFeed: a second service on the same database (another
// replica) caches what it read, and drops it when the change feed tells
// its registry about a change made elsewhere.
func TestCacheFollowsTheFeed(t *testing.T) {
	db := dbtest.Open(t)
	a, b := newEnv(t, db), newEnv(t, db)
	admin := a.user(t, "root", true)
	young := a.now.Add(-time.Hour)
	for _, e := range []*env{a, b} {
		if got := e.decide(t, v(trove.NPM, "left-pad", "1.0.0", young)); got[0] != "1.0.0 ok:open" {
			t.Fatalf("before: %v", got)
		}
	}
	a.policy(t, admin, trove.NPM, "*", "", 72*time.Hour, "")
	a.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "right-pad", Versions: "1.0.0", Kind: curate.Deny})
	if got := a.decide(t, v(trove.NPM, "left-pad", "1.0.0", young)); got[0] != "1.0.0 blocked:cooldown" {
		t.Errorf("the replica that made the change: %v, want the cool-down at once", got)
	}
	// b has not followed the feed yet: it still has what it cached.
	if got := b.decide(t, v(trove.NPM, "left-pad", "1.0.0", young)); got[0] != "1.0.0 ok:open" {
		t.Errorf("a replica before following the feed: %v, want its cached state (the test proves caching)", got)
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- b.reg.Follow(fctx) }()
	defer func() { cancel(); <-done }()
	// Follow starts at the feed's end, wherever that is when its goroutine
	// runs: changes are made until it has seen them.
	a.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: "9.9.9", Kind: curate.Deny})
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		got := b.decide(t, v(trove.NPM, "left-pad", "1.0.0", young), v(trove.NPM, "left-pad", "9.9.9", a.now.Add(-1000*time.Hour)))
		if cmp.Equal(got, []string{"1.0.0 blocked:cooldown", "9.9.9 blocked:deny-list"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other replica after 10s: %v, want the change", got)
		}
		a.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: fmt.Sprintf("9.9.%d", 10+i), Kind: curate.Deny})
		a.policy(t, admin, trove.NPM, "*", "", time.Duration(48+i)*time.Hour, "")
		time.Sleep(2 * registry.FollowInterval)
	}
}

// TestBlockedErrorNamesRuleAndContact: an exact request for a blocked
// version gets an access.ErrDenied naming the rule and who to ask.
func TestBlockedErrorNamesRuleAndContact(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	admin := e.user(t, "root", true)
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: "1.0.0", Kind: curate.Deny, Why: "CVE-2026-1"})
	err := e.cur.Check(ctx, v(trove.NPM, "left-pad", "1.0.0", e.now))
	var be *upstream.BlockedError
	if !errors.As(err, &be) || !errors.Is(err, access.ErrDenied) {
		t.Fatalf("Check = %v, want a BlockedError that is ErrDenied", err)
	}
	for _, want := range []string{"npm left-pad 1.0.0", "rule deny-list", "denied by root", "CVE-2026-1", "platform-team@example.test"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check = %q, want it to say %q", err, want)
		}
	}
	if err := e.cur.Check(ctx, v(trove.NPM, "left-pad", "1.0.1", e.now)); err != nil {
		t.Errorf("Check(1.0.1) = %v, want nil", err)
	}
	// The proxies ask through their upstream client, whose policy it is.
	up := upstream.New(upstream.Options{Ecosystem: trove.NPM, Policy: e.cur})
	if err := up.Check(ctx, v(trove.NPM, "left-pad", "1.0.0", e.now)); !errors.As(err, &be) || err.Error() != be.Error() || !strings.Contains(err.Error(), "CVE-2026-1") {
		t.Errorf("upstream.Client.Check = %v, want the same BlockedError", err)
	}
	if err := up.Check(ctx, v(trove.NPM, "left-pad", "1.0.1", e.now)); err != nil {
		t.Errorf("upstream.Client.Check(1.0.1) = %v, want nil", err)
	}
}

// TestRecoveryReplaysCuration: the records alone rebuild the curation
// state in a database restored without it (registry.Replay).
func TestRecoveryReplaysCuration(t *testing.T) {
	a := newEnv(t, dbtest.Open(t))
	admin := a.user(t, "root", true)
	a.policy(t, admin, trove.NPM, "*", curate.ModeApprovedOnly, 72*time.Hour, "block")
	a.policy(t, admin, trove.NPM, "*", "inherit", 0, "")
	a.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "@acme/*", Versions: "<1", Kind: curate.Deny})
	a.mark(t, admin, curate.MarkChange{Ecosystem: trove.PyPI, Name: "requests", Versions: "2.0", Kind: curate.Tag, Tag: "reviewed"})
	a.mark(t, admin, curate.MarkChange{Ecosystem: trove.PyPI, Name: "requests", Versions: "*", Kind: curate.Malicious})
	a.mark(t, admin, curate.MarkChange{Ecosystem: trove.PyPI, Name: "requests", Versions: "*", Kind: curate.Malicious, Remove: true})
	n, _ := a.db.LogSize(ctx)
	records, err := a.db.ReadLogRecords(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	b := newEnv(t, dbtest.Open(t))
	b.user(t, "root", true)
	if err := b.reg.Replay(ctx, 0, records, false, nil); err != nil {
		t.Fatalf("Replay = %v", err)
	}
	for _, eco := range []trove.Ecosystem{trove.NPM, trove.PyPI} {
		va, _ := a.cur.Show(ctx, admin, eco, "")
		vb, err := b.cur.Show(ctx, admin, eco, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(va, vb, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ID" }, cmp.Ignore())); diff != "" {
			t.Errorf("%s after replay (-original +replayed):\n%s", eco, diff)
		}
	}
	hb, _ := b.db.LogSize(ctx)
	if hb != n {
		t.Errorf("replayed log size = %d, want %d", hb, n)
	}
}

// TestConcurrentPolicyChanges: curators changing different settings of one
// policy at once either both land or one is refused (409) and asked to
// repeat; no setting is lost silently.
func TestConcurrentPolicyChanges(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			e := newEnv(t, engine.Open(t))
			admin := e.user(t, "root", true)
			for round := 0; round < 5; round++ {
				mode, scripts := curate.ModeApprovedOnly, "block"
				age := time.Duration(round+1) * time.Hour
				changes := []curate.PolicyChange{
					{Ecosystem: trove.NPM, Pattern: "*", Mode: &mode},
					{Ecosystem: trove.NPM, Pattern: "*", MinAge: &age},
					{Ecosystem: trove.NPM, Pattern: "*", InstallScripts: &scripts},
				}
				type result struct {
					i   int
					err error
				}
				results := make(chan result, len(changes))
				for i, c := range changes {
					go func() { _, err := e.cur.SetPolicy(ctx, admin, c); results <- result{i, err} }()
				}
				ok := map[int]bool{}
				for range changes {
					r := <-results
					if r.err != nil && !errors.Is(r.err, trove.ErrExists) {
						t.Fatalf("SetPolicy = %v, want nil or ErrExists", r.err)
					}
					ok[r.i] = r.err == nil
				}
				v, err := e.cur.Show(ctx, admin, trove.NPM, "*")
				if err != nil || len(v.Policies) != 1 {
					t.Fatalf("Show = %+v, %v", v, err)
				}
				p := v.Policies[0]
				landed := map[int]bool{0: p.Mode == mode, 1: p.MinAge == age, 2: p.Scripts == scripts}
				for i := range changes {
					if ok[i] && !landed[i] {
						n, _ := e.db.LogSize(ctx)
						recs, _ := e.db.ReadLogRecords(ctx, 0, n)
						t.Errorf("round %d: change %d succeeded but is not in the policy %+v; ok %v; log:\n%s", round, i, p, ok, recs)
					}
				}
				// Whatever landed is in the log's last policy record: the
				// database and the log agree.
				n, _ := e.db.LogSize(ctx)
				recs, _ := e.db.ReadLogRecords(ctx, n-1, 1)
				wantAge := "min-age inherit"
				if p.MinAge >= 0 {
					wantAge = fmt.Sprintf("min-age %ds", int(p.MinAge/time.Second))
				}
				if !strings.Contains(string(recs[0]), wantAge) {
					t.Errorf("round %d: the last record %q disagrees with the policy %+v", round, recs[0], p)
				}
				zero, open, allow := time.Duration(-1), "inherit", "inherit"
				if _, err := e.cur.SetPolicy(ctx, admin, curate.PolicyChange{Ecosystem: trove.NPM, Pattern: "*", Mode: &open, MinAge: &zero, InstallScripts: &allow}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestFeedMalicious: an advisory feed marks versions malicious without a
// principal; the mark blocks them (over an approval) and is logged as the
// feed's.
func TestFeedMalicious(t *testing.T) {
	e := newEnv(t, dbtest.Open(t))
	admin := e.user(t, "root", true)
	e.mark(t, admin, curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: "1.0.0", Kind: curate.Tag})
	if err := e.cur.FeedMalicious(ctx, "osv", curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: "<1.1.0", Why: "MAL-2026-1"}); err != nil {
		t.Fatal(err)
	}
	got := e.decide(t, v(trove.NPM, "left-pad", "1.0.0", e.now), v(trove.NPM, "left-pad", "1.1.0", e.now))
	if diff := cmp.Diff([]string{"1.0.0 blocked:malicious", "1.1.0 ok:open"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	n, _ := e.db.LogSize(ctx)
	recs, _ := e.db.ReadLogRecords(ctx, n-1, 1)
	if !strings.Contains(string(recs[0]), "left-pad by feed:osv") || !strings.Contains(string(recs[0]), "left-pad add malicious -") {
		t.Errorf("record = %q, want the feed's malicious mark", recs[0])
	}
	if err := e.cur.FeedMalicious(ctx, "bad feed", curate.MarkChange{Ecosystem: trove.NPM, Name: "x", Why: "y"}); !errors.Is(err, trove.ErrInvalid) {
		t.Errorf("a feed name with a space = %v, want ErrInvalid", err)
	}
	if err := e.cur.FeedMalicious(ctx, "osv", curate.MarkChange{Ecosystem: trove.NPM, Name: "left-pad", Versions: "<1.1.0", Remove: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.decide(t, v(trove.NPM, "left-pad", "1.0.0", e.now)); got[0] != "1.0.0 ok:approved" {
		t.Errorf("after the feed withdrew: %v", got)
	}
}
