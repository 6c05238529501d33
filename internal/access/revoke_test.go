package access

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

func TestParseCIDRs(t *testing.T) {
	got, err := ParseCIDRs([]string{"10.1.2.3/8", " 192.0.2.1 ", "2001:db8::1/32", "::ffff:198.51.100.7", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("198.51.100.7/32")}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("ParseCIDRs (-want +got):\n%s", diff)
	}
	_, err = ParseCIDRs([]string{"10.0.0.0/33", "10.0.0.0/8", "example.com", "fe80::1%eth0"})
	if !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), `"10.0.0.0/33", "example.com", "fe80::1%eth0": not an address or CIDR prefix`) {
		t.Errorf("ParseCIDRs(bad) = %v, want ErrInvalid naming every bad entry", err)
	}
	many := make([]string, MaxCIDRs+1)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String()
	}
	if _, err := ParseCIDRs(many); !errors.Is(err, trove.ErrInvalid) || !strings.Contains(err.Error(), "at most") {
		t.Errorf("ParseCIDRs(%d prefixes) = %v, want a refusal naming the limit", len(many), err)
	}
}

// TestTokenCIDRs: a token with an address allow-list works only from
// those addresses, cached or not; the refusal names the rule and the
// address, never the token; without a known address it is refused.
func TestTokenCIDRs(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	db, u := newUserDB(t, clock)
	ts := NewTokens(db, func() time.Time { return clock })
	cidrs, err := ParseCIDRs([]string{"10.0.0.0/8", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: []Action{Read}, CIDRs: cidrs})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"10.0.0.0/8", "2001:db8::/32"}, tok.CIDRs); diff != "" {
		t.Errorf("stored CIDRs (-want +got):\n%s", diff)
	}
	from := func(a string) context.Context { return WithClientAddr(ctx, netip.MustParseAddr(a)) }
	for _, tc := range []struct {
		ctx  context.Context
		want string // "" for success
	}{
		{from("10.9.8.7"), ""},
		{from("::ffff:10.1.1.1"), ""}, // IPv4-mapped: the same client
		{from("2001:db8:1::5"), ""},
		{from("192.0.2.1"), "this request came from 192.0.2.1"},
		{from("2001:db9::1"), "this request came from 2001:db9::1"},
		{ctx, "the client's address is unknown"},
		{from("192.0.2.1"), "this request came from 192.0.2.1"}, // now from the cache
		{from("10.0.0.1"), ""},
	} {
		_, err := ts.Authenticate(tc.ctx, secret)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Authenticate from an allowed address = %v", err)
		case tc.want != "" && (!errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "10.0.0.0/8, 2001:db8::/32")):
			t.Errorf("Authenticate = %v, want ErrDenied naming the rule and %q", err, tc.want)
		case err != nil && (strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), tok.PublicID)):
			t.Errorf("refusal %q names the token", err)
		}
	}
	// A token without a list works from anywhere, and without an address.
	open, _, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: []Action{Read}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []context.Context{ctx, from("203.0.113.9")} {
		if _, err := ts.Authenticate(c, open); err != nil {
			t.Errorf("token without an allow-list: %v", err)
		}
	}
}

// TestLastUsed: a use is recorded, at most once per TouchEvery, and a
// refused use (from outside the allow-list) is not.
func TestLastUsed(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	clock := start
	db, u := newUserDB(t, clock)
	ts := NewTokens(db, func() time.Time { return clock })
	cidrs, _ := ParseCIDRs([]string{"10.0.0.0/8"})
	secret, tok, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: []Action{Read}, CIDRs: cidrs})
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		got, err := db.TokenByHash(ctx, tok.Hash)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	inside, outside := WithClientAddr(ctx, netip.MustParseAddr("10.0.0.1")), WithClientAddr(ctx, netip.MustParseAddr("192.0.2.1"))
	if _, err := ts.Authenticate(outside, secret); err == nil {
		t.Fatal("token used from outside its allow-list")
	}
	if got := lastUsed(); !got.IsZero() {
		t.Errorf("a refused use was recorded: %v", got)
	}
	steps := []struct {
		after time.Duration
		want  time.Duration
	}{{0, 0}, {10 * time.Second, 0}, {TouchEvery - time.Second, 0}, {TouchEvery + time.Second, TouchEvery + time.Second}}
	for _, s := range steps {
		clock = start.Add(s.after)
		if _, err := ts.Authenticate(inside, secret); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(start.Add(s.want)) {
			t.Errorf("after a use at +%v: last used %v, want +%v", s.after, got.Sub(start), s.want)
		}
	}
	// Another replica, after its own cache: still the same granularity.
	other := NewTokens(db, func() time.Time { return clock.Add(10 * time.Second) })
	if _, err := other.Authenticate(inside, secret); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(start.Add(TouchEvery + time.Second)) {
		t.Errorf("another replica's use 10s later rewrote the time of last use: %v", got.Sub(start))
	}
}

// revocations records the hook's calls.
type revocations struct{ got []Revoked }

func (r *revocations) hook(ctx context.Context, tx *meta.Tx, rv Revoked) error {
	r.got = append(r.got, rv)
	return nil
}

func addUser(t *testing.T, db *meta.DB, name string, admin bool) *trove.User {
	t.Helper()
	ctx := context.Background()
	u := &trove.User{Name: name, Email: name + "@x.test", Admin: admin, CreatedAt: time.Now()}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertUser(ctx, u, "x") }); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRevokePackage: the tokens of the holders that can write the package
// are revoked, and no others: read-only ones, ones scoped elsewhere, and
// other users' (even wildcard) tokens stay; each holder's revocation is
// one hook call listing its tokens.
func TestRevokePackage(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	db, alice := newUserDB(t, clock)
	bob, carol := addUser(t, db, "bob", false), addUser(t, db, "carol", false)
	ts := NewTokens(db, func() time.Time { return clock })
	var rec revocations
	ts.OnRevoke(rec.hook)
	mk := func(u *trove.User, desc string, pats []Pattern, acts ...Action) string {
		s, _, err := ts.Create(ctx, u.ID, Spec{Description: desc, Packages: pats, Actions: acts})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	revoked := map[string]string{
		"alice-all":   mk(alice, "alice-all", []Pattern{"*"}, Read, Publish),
		"alice-demo":  mk(alice, "alice-demo", []Pattern{"npm:other", "npm:de*"}, Yank),
		"bob-publish": mk(bob, "bob-publish", []Pattern{"npm:demo"}, Publish),
	}
	kept := map[string]string{
		"alice-read":  mk(alice, "alice-read", []Pattern{"npm:demo"}, Read, ManageTokens),
		"alice-other": mk(alice, "alice-other", []Pattern{"npm:other", "pypi:demo"}, Publish),
		"carol-all":   mk(carol, "carol-all", []Pattern{"*"}, Publish), // not a holder
	}
	for _, s := range kept {
		if _, err := ts.Authenticate(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range revoked {
		if _, err := ts.Authenticate(ctx, s); err != nil { // cached: must be forgotten
			t.Fatal(err)
		}
	}
	n, err := ts.RevokePackage(ctx, "npm", "demo", []int64{bob.ID, alice.ID, alice.ID}, Revocation{By: "alice"})
	if err != nil || n != 3 {
		t.Fatalf("RevokePackage = %d, %v; want 3", n, err)
	}
	for name, s := range revoked {
		if _, err := ts.Authenticate(ctx, s); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s after RevokePackage: %v, want revoked at once", name, err)
		}
	}
	for name, s := range kept {
		if _, err := ts.Authenticate(ctx, s); err != nil {
			t.Errorf("%s after RevokePackage: %v, want it kept", name, err)
		}
	}
	var calls []string
	for _, rv := range rec.got {
		calls = append(calls, rv.Detail())
		if rv.Reason != RevokedPackage {
			t.Errorf("reason %q, want %q", rv.Reason, RevokedPackage)
		}
	}
	slices.Sort(calls)
	if len(calls) != 2 || !strings.HasPrefix(calls[0], "2 tokens (") || !strings.HasSuffix(calls[0], ") that could write npm:demo revoked by alice") ||
		!strings.HasPrefix(calls[1], "token ") || !strings.HasSuffix(calls[1], `"bob-publish" that could write npm:demo revoked by alice`) {
		t.Errorf("notices: %q, want one per holder naming its tokens", calls)
	}
}

// TestRevokeEveryone: every token of every user, one notice per user.
func TestRevokeEveryone(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	db, alice := newUserDB(t, clock)
	bob := addUser(t, db, "bob", false)
	addUser(t, db, "carol", false) // no tokens: no notice
	ts := NewTokens(db, func() time.Time { return clock })
	var rec revocations
	ts.OnRevoke(rec.hook)
	var secrets []string
	for _, u := range []*trove.User{alice, alice, bob} {
		s, _, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: Actions})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Authenticate(ctx, s); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, s)
	}
	n, users, err := ts.RevokeEveryone(ctx, Revocation{By: "the operator"})
	if err != nil || n != 3 || users != 2 {
		t.Fatalf("RevokeEveryone = %d, %d, %v; want 3 tokens of 2 users", n, users, err)
	}
	for _, s := range secrets {
		if _, err := ts.Authenticate(ctx, s); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("after RevokeEveryone: %v, want revoked", err)
		}
	}
	var got []string
	for _, rv := range rec.got {
		got = append(got, rv.Detail())
	}
	want := []string{"2 tokens revoked by the operator, with every token of every user of the registry",
		"1 token revoked by the operator, with every token of every user of the registry"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}
	// Nothing left: a second run revokes nothing and tells no one.
	rec.got = nil
	if n, users, err := ts.RevokeEveryone(ctx, Revocation{}); n != 0 || users != 0 || err != nil || len(rec.got) != 0 {
		t.Errorf("second RevokeEveryone = %d, %d, %v, %d notices; want nothing", n, users, err, len(rec.got))
	}
}

// TestRevokeLeaked: a live token reported leaked is revoked with one
// notice saying where it was found; unknown, malformed, revoked and
// expired ones change nothing; a failing hook revokes nothing.
func TestRevokeLeaked(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	db, alice := newUserDB(t, clock)
	ts := NewTokens(db, func() time.Time { return clock })
	var rec revocations
	ts.OnRevoke(rec.hook)
	secret, tok, err := ts.Create(ctx, alice.ID, Spec{Description: "ci", Packages: []Pattern{"*"}, Actions: Actions})
	if err != nil {
		t.Fatal(err)
	}
	short, _, err := ts.Create(ctx, alice.ID, Spec{Packages: []Pattern{"*"}, Actions: Actions, ExpiresAt: clock.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}

	// A hook that fails: nothing is revoked.
	ts.OnRevoke(func(context.Context, *meta.Tx, Revoked) error { return errors.New("mail outbox down") })
	if ok, err := ts.RevokeLeaked(ctx, secret, Revocation{}); ok || err == nil {
		t.Errorf("RevokeLeaked with a failing hook = %v, %v; want an error", ok, err)
	}
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Errorf("a failed revocation revoked the token: %v", err)
	}
	ts.OnRevoke(rec.hook)

	where := Revocation{URL: "https://code.example/acme/app/blob/1234/.npmrc", Source: "commit", Client: "192.0.2.9"}
	if ok, err := ts.RevokeLeaked(ctx, secret, where); !ok || err != nil {
		t.Fatalf("RevokeLeaked(live) = %v, %v; want true", ok, err)
	}
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("leaked token still works: %v", err)
	}
	if len(rec.got) != 1 || rec.got[0].UserID != alice.ID || rec.got[0].Reason != RevokedLeaked ||
		rec.got[0].Detail() != `token `+tok.PublicID+` "ci" was found exposed at https://code.example/acme/app/blob/1234/.npmrc (source: commit) and revoked` {
		t.Errorf("notices = %+v", rec.got)
	}
	clock = clock.Add(2 * time.Hour)
	for name, s := range map[string]string{"again": secret, "unknown": NewToken(), "malformed": "trove_nope", "expired": short} {
		rec.got = nil
		if ok, err := ts.RevokeLeaked(ctx, s, where); ok || err != nil || len(rec.got) != 0 {
			t.Errorf("RevokeLeaked(%s) = %v, %v, %d notices; want nothing done", name, ok, err, len(rec.got))
		}
	}
}
