package audit

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/trove"
)

func TestOutcomeOf(t *testing.T) {
	for status, want := range map[int]Outcome{200: OK, 201: OK, 303: OK, 400: Invalid, 401: Unauthenticated, 403: Denied,
		404: Invalid, 409: Invalid, 413: Invalid, 429: Denied, 500: Error, 503: Error} {
		if got := OutcomeOf(status); got != want {
			t.Errorf("OutcomeOf(%d) = %s, want %s", status, got, want)
		}
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func entries(t *testing.T, db *meta.DB) []*meta.AuditEntry {
	t.Helper()
	es, err := db.AuditEntries(context.Background(), meta.AuditFilter{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestAnonymousCounted: anonymous requests are not written one by one
// but counted, by action and status, and written once the window has
// passed (or at Flush), one entry per kind; the count of kinds is bounded.
func TestAnonymousCounted(t *testing.T) {
	db := dbtest.SQLite(t)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(db, c.now)
	ctx := context.Background()
	for i := range 1000 {
		l.Record(ctx, Entry{Action: "npm.publish", Status: 401, Client: "192.0.2." + string(rune('0'+i%3))})
	}
	l.Record(ctx, Entry{Action: "web.signin.submit", Status: 401, Client: "192.0.2.9"})
	if es := entries(t, db); len(es) != 0 {
		t.Fatalf("within the window, %d entries were written, want none", len(es))
	}
	c.advance(AggregateWindow)
	l.Record(ctx, Entry{Action: "npm.publish", Status: 401})
	es := entries(t, db)
	got := map[string]int{}
	for _, e := range es {
		if e.UserID != 0 || e.Credential != CredentialAnonymous || e.Outcome != "unauthenticated" {
			t.Errorf("count entry %+v", *e)
		}
		got[e.Action] = e.Count
	}
	if len(es) != 2 || got["npm.publish"] != 1001 || got["web.signin.submit"] != 1 {
		t.Errorf("after the window: %v, want npm.publish 1001 and web.signin.submit 1", got)
	}
	for _, e := range es {
		if e.Action == "npm.publish" && e.Detail != "1001 requests from 4 clients" {
			t.Errorf("detail %q", e.Detail)
		}
	}

	// Many kinds in one window: at most maxAggregates entries.
	for i := range 3 * maxAggregates {
		l.Record(ctx, Entry{Action: "npm.x" + strings.Repeat("y", i%500), Status: 400 + i%3})
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n, total := 0, 0
	for _, e := range entries(t, db) {
		if e.ID > es[0].ID {
			n++
			total += e.Count
		}
	}
	if n > maxAggregates+3 || total != 3*maxAggregates {
		t.Errorf("%d kinds flushed as %d entries counting %d, want at most %d entries counting all", 3*maxAggregates, n, total, maxAggregates+3)
	}
	if err := l.Flush(ctx); err != nil || len(entries(t, db)) != len(es)+n {
		t.Errorf("a second Flush wrote again (%v)", err)
	}
}

// TestRecordBounded: a signed-in request is written at once, its fields
// bounded, a token in the path redacted, and the registry's target used
// when one package was noted.
func TestRecordBounded(t *testing.T) {
	db := dbtest.SQLite(t)
	ctx := context.Background()
	var alice *trove.User
	if err := db.Tx(ctx, func(tx *meta.Tx) error {
		alice = &trove.User{Name: "alice", Email: "a@example.test", CreatedAt: time.Now()}
		return tx.InsertUser(ctx, alice, "x")
	}); err != nil {
		t.Fatal(err)
	}
	l := New(db, nil)
	secret := access.NewToken()
	l.Record(ctx, Entry{UserID: alice.ID, UserName: "alice", Credential: TokenCredential("pub1"), Action: "npm.logout",
		Path: "/npm/-/user/token/" + secret + "/" + strings.Repeat("é", 1000), Status: 200, Client: strings.Repeat("c", 1000)})
	nctx := WithNote(ctx)
	SetTarget(nctx, trove.Target{Ecosystem: "npm", Name: "demo"})
	SetTarget(nctx, trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0.0"})
	l.Record(nctx, Entry{UserID: alice.ID, UserName: "alice", Action: "npm.publish", Path: "/npm/demo", Status: 403})
	many := WithNote(ctx)
	SetTarget(many, trove.Target{Ecosystem: "npm", Name: "a"})
	SetTarget(many, trove.Target{Ecosystem: "npm", Name: "b"})
	l.Record(many, Entry{UserID: alice.ID, UserName: "alice", Action: "web.admin.users.delete.submit", Path: "/-/admin/users/bob/delete", Status: 303})
	es := entries(t, db)
	if len(es) != 3 {
		t.Fatalf("%d entries, want 3", len(es))
	}
	first := es[2]
	if strings.Contains(first.Target, secret) || len(first.Target) > maxTarget || len(first.Client) > maxField || !strings.HasSuffix(first.Target, "…") {
		t.Errorf("the logout's entry is %q (%d bytes), client %d bytes: want the token redacted and both bounded", first.Target, len(first.Target), len(first.Client))
	}
	if e := es[1]; e.Target != "npm:demo@1.0.0" || e.Ecosystem != "npm" || e.Package != "demo" || e.Outcome != "denied" {
		t.Errorf("the noted publish: %+v", *e)
	}
	if e := es[0]; e.Target != "/-/admin/users/bob/delete" || e.Package != "" {
		t.Errorf("a request touching two packages: %+v, want its path as target", *e)
	}
}

func TestNoteVersions(t *testing.T) {
	ctx := WithNote(context.Background())
	SetTarget(ctx, trove.Target{Ecosystem: "npm", Name: "demo", Version: "1.0.0"})
	SetTarget(ctx, trove.Target{Ecosystem: "npm", Name: "demo", Version: "2.0.0"})
	SetTarget(ctx, trove.Target{Ecosystem: "npm", Name: "demo", Version: "3.0.0"})
	if got, ok := noteOf(ctx); !ok || TargetString(got) != "npm:demo" {
		t.Errorf("two versions of one package noted as %v, %v; want the package", got, ok)
	}
	SetTarget(context.Background(), trove.Target{Ecosystem: "npm", Name: "x"}) // no note: nothing happens
}

func TestParseQuery(t *testing.T) {
	fold := func(_ trove.Ecosystem, n string) string { return strings.ToLower(n) }
	q, err := ParseQuery(url.Values{"user": {" Alice "}, "package": {"pypi:Demo"}, "action": {"api."}, "outcome": {"denied"},
		"since": {"2026-01-02"}, "until": {"2026-01-03T04:05:06Z"}, "before": {"9"}, "limit": {"5"}}, fold)
	want := meta.AuditFilter{Ecosystem: "pypi", Package: "demo", Action: "api.", Outcome: "denied",
		Since: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 3, 4, 5, 6, 0, time.UTC), Before: 9}
	if err != nil || q.User != "alice" || q.Limit != 5 || q.Filter != want {
		t.Errorf("ParseQuery = %+v, %v; want %+v", q, err, want)
	}
	for _, bad := range []url.Values{{"package": {"demo"}}, {"outcome": {"fine"}}, {"since": {"today"}}, {"before": {"-1"}},
		{"limit": {"0"}}, {"limit": {"1001"}}, {"action": {"a b"}}} {
		if _, err := ParseQuery(bad, nil); err == nil {
			t.Errorf("ParseQuery(%v) = nil error", bad)
		}
	}
}

// TestAnonymousCountedConcurrently: requests counted from many goroutines
// while windows pass and flushes run are each counted exactly once.
func TestAnonymousCountedConcurrently(t *testing.T) {
	db := dbtest.SQLite(t)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(db, c.now)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if g == 0 && i%10 == 0 {
					c.advance(AggregateWindow)
				}
				l.Record(ctx, Entry{Action: "api.yank", Status: 401 + 2*(i%2)})
			}
		}()
	}
	wg.Wait()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range entries(t, db) {
		total += e.Count
	}
	if total != 800 {
		t.Errorf("the counts add up to %d, want 800", total)
	}
}
