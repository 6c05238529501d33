package access

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

func TestTokenFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		tok := NewToken()
		if err := CheckToken(tok); err != nil {
			t.Fatalf("CheckToken(NewToken()) = %v", err)
		}
		if !TokenPattern.MatchString("token: " + tok + "\n") {
			t.Fatalf("TokenPattern does not match %q", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken repeated %q", tok)
		}
		seen[tok] = true
	}
	tok := NewToken()
	flip := []byte(tok)
	if flip[10] == 'a' {
		flip[10] = 'b'
	} else {
		flip[10] = 'a'
	}
	for _, bad := range []string{"", "trove_", tok[:len(tok)-1], tok + "x", strings.Replace(tok, "trove_", "trove-", 1), string(flip), tok[:20] + "!" + tok[21:]} {
		if err := CheckToken(bad); err == nil {
			t.Errorf("CheckToken(%q) = nil, want an error", bad)
		}
	}
}

// A namer folds names like an ecosystem's rules.
type namer struct {
	eco  trove.Ecosystem
	fold func(string) string
}

func (n namer) Ecosystem() trove.Ecosystem { return n.eco }
func (n namer) Fold(s string) string       { return n.fold(s) }

var separators = regexp.MustCompile(`[-_.]+`)

// testNamers fold like npm (as is), PyPI (PEP 503) and Go (lower case).
var testNamers = []Namer{
	namer{"npm", func(s string) string { return s }},
	namer{"pypi", func(s string) string { return strings.ToLower(separators.ReplaceAllString(s, "-")) }},
	namer{"go", strings.ToLower},
}

func fold(eco, name string) trove.Name {
	for _, n := range testNamers {
		if string(n.Ecosystem()) == eco {
			return trove.Name(n.Fold(name))
		}
	}
	return trove.Name(name)
}

func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern, eco, name string
		want               bool
	}{
		{"*", "npm", "anything", true},
		{"npm:@acme/*", "npm", "@acme/demo", true},
		{"npm:@acme/*", "npm", "@acme2/demo", false},
		{"npm:@acme/*", "pypi", "@acme/demo", false},
		{"npm:*", "npm", "@scope/x", true},
		{"pypi:demo", "pypi", "demo", true},
		{"pypi:demo", "pypi", "demo2", false},
		{"pypi:demo-*", "pypi", "demo-utils", true},
		{"npm:a*b*c", "npm", "axxbyyc", true},
		{"npm:a*b*c", "npm", "axxbyy", false},
		// Go module paths keep their case; patterns match them regardless.
		{"go:github.com/Acme/*", "go", "github.com/Acme/lib", true},
		{"go:github.com/acme/*", "go", "github.com/ACME/lib", true},
		{"go:github.com/acme/*", "go", "github.com/acme2/lib", false},
		{"go:github.com/acme/*", "npm", "github.com/acme/lib", false},
	} {
		p, err := ParsePattern(tc.pattern, testNamers...)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", tc.pattern, err)
		}
		if got := p.Match(trove.Ecosystem(tc.eco), fold(tc.eco, tc.name)); got != tc.want {
			t.Errorf("Pattern(%q).Match(%s, %s) = %v, want %v", tc.pattern, tc.eco, tc.name, got, tc.want)
		}
	}
	for _, bad := range []string{"", "npm", "npm:", ":x", "cargo:x", "npm:a b"} {
		if _, err := ParsePattern(bad, testNamers...); err == nil {
			t.Errorf("ParsePattern(%q) = nil error", bad)
		}
	}
	// Patterns are folded by their ecosystem's rules when they are made.
	for in, want := range map[string]Pattern{
		"pypi:Demo": "pypi:demo", "pypi:Alice_Proj": "pypi:alice-proj", "pypi:Alice_*.Utils": "pypi:alice-*-utils",
		"go:github.com/Acme/*": "go:github.com/acme/*", "npm:@acme/*": "npm:@acme/*",
	} {
		if p, err := ParsePattern(in, testNamers...); err != nil || p != want {
			t.Errorf("ParsePattern(%q) = %q, %v; want %q", in, p, err, want)
		}
	}
	if _, err := ParsePattern("cargo:x", testNamers...); err == nil || !strings.Contains(err.Error(), "npm, pypi, go") {
		t.Errorf("ParsePattern(cargo:x) = %v, want an error listing the known ecosystems", err)
	}
}

func FuzzGlobMatch(f *testing.F) {
	f.Add("a*b", "axxb")
	f.Add("*", "")
	f.Add("**a", "ba")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if !strings.Contains(pattern, "*") && globMatch(pattern, s) != (pattern == s) {
			t.Fatalf("globMatch(%q, %q) without * must be equality", pattern, s)
		}
		if globMatch("*", s) != true {
			t.Fatalf("* must match %q", s)
		}
	})
}

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		a    Action
		want Role
	}{
		{Read, NoRole}, {ReadPrivate, Reader}, {Publish, Maintainer}, {PublishNew, Maintainer}, {PublishUpdate, Maintainer},
		{Yank, Maintainer}, {Owners, Owner}, {ManageTokens, Owner},
	} {
		if got := tc.a.Needs(); got != tc.want {
			t.Errorf("%s.Needs() = %v, want %v", tc.a, got, tc.want)
		}
	}
	for _, r := range Roles {
		if got, err := ParseRole(" " + strings.ToUpper(r.String())); got != r || err != nil {
			t.Errorf("ParseRole(%q) = %v, %v", r, got, err)
		}
	}
	if _, err := ParseRole("admin"); err == nil {
		t.Error("ParseRole(admin) succeeded")
	}
	if !(Owner > Maintainer && Maintainer > Reader && Reader > NoRole) {
		t.Error("roles are not ordered weakest first")
	}
}

func TestAuthorize(t *testing.T) {
	owner := &Principal{UserID: 1, UserName: "alice", Packages: []Pattern{"npm:*"}, Actions: []Action{Read, Publish, Yank}}
	admin := &Principal{UserID: 2, UserName: "root", Admin: true, Packages: []Pattern{"*"}, Actions: Actions}
	narrow := &Principal{UserID: 1, UserName: "alice", Packages: []Pattern{"npm:other"}, Actions: Actions}
	publishOnly := &Principal{UserID: 1, UserName: "alice", Packages: []Pattern{"*"}, Actions: []Action{Publish}}
	existing := Resource{Ecosystem: "npm", Name: "demo", Exists: true}
	owned := Resource{Ecosystem: "npm", Name: "demo", Exists: true, Role: Owner}
	maintained := Resource{Ecosystem: "npm", Name: "demo", Exists: true, Role: Maintainer}
	read := Resource{Ecosystem: "npm", Name: "demo", Exists: true, Role: Reader}
	fresh := Resource{Ecosystem: "npm", Name: "demo"}
	every := &Principal{UserID: 1, UserName: "alice", Packages: []Pattern{"*"}, Actions: Actions}
	onlyNew := &Principal{UserID: 1, UserName: "alice", Packages: []Pattern{"*"}, Actions: []Action{PublishNew}}
	onlyUpdate := &Principal{UserID: 1, UserName: "alice", Packages: []Pattern{"*"}, Actions: []Action{PublishUpdate}}
	for _, tc := range []struct {
		name string
		p    *Principal
		a    Action
		r    Resource
		want error
	}{
		{"anyone reads", nil, Read, existing, nil},
		{"anonymous publish", nil, Publish, fresh, ErrUnauthenticated},
		{"new package", owner, Publish, fresh, nil},
		{"owner publishes", owner, Publish, owned, nil},
		{"non-owner publishes", owner, Publish, existing, ErrDenied},
		{"admin publishes", admin, Publish, existing, nil},
		{"out of scope", narrow, Publish, fresh, ErrDenied},
		{"action not granted", publishOnly, Yank, owned, ErrDenied},
		{"yank creates nothing", owner, Yank, fresh, ErrDenied},
		{"admin scope still applies", &Principal{Admin: true, Packages: []Pattern{"pypi:*"}, Actions: Actions}, Publish, existing, ErrDenied},
		{"other ecosystem", owner, Publish, Resource{Ecosystem: "pypi", Name: "demo"}, ErrDenied},
		// Roles.
		{"maintainer publishes", owner, Publish, maintained, nil},
		{"maintainer yanks", owner, Yank, maintained, nil},
		{"maintainer changes owners", every, Owners, maintained, ErrDenied},
		{"owner changes owners", every, Owners, owned, nil},
		{"admin changes owners", admin, Owners, existing, nil},
		{"reader publishes", owner, Publish, read, ErrDenied},
		{"reader reads private", every, ReadPrivate, read, nil},
		{"non-member reads private", every, ReadPrivate, existing, ErrDenied},
		// Finer publishing actions; publish carries both.
		{"publish-new creates", onlyNew, Publish, fresh, nil},
		{"publish-new updates", onlyNew, Publish, owned, ErrDenied},
		{"publish-update creates", onlyUpdate, Publish, fresh, ErrDenied},
		{"publish-update updates", onlyUpdate, Publish, owned, nil},
		{"publish carries publish-update", owner, PublishUpdate, owned, nil},
		{"publish carries publish-new", owner, PublishNew, fresh, nil},
		{"publish-new needs no package", every, PublishUpdate, fresh, ErrDenied},
		{"publish lacks owners", owner, Owners, owned, ErrDenied},
		{"tokens carries owners", &Principal{UserName: "alice", Packages: []Pattern{"*"}, Actions: []Action{ManageTokens}}, Owners, owned, nil},
	} {
		err := Authorize(tc.p, tc.a, tc.r)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Authorize = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// newUserDB returns a database in a temporary directory with the user alice.
func newUserDB(t *testing.T, at time.Time) (*meta.DB, *trove.User) {
	t.Helper()
	ctx := context.Background()
	db, err := meta.OpenSQLite(ctx, filepath.Join(t.TempDir(), "trove.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u := &trove.User{Name: "alice", Email: "a@x.test", CreatedAt: at}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertUser(ctx, u, "x") }); err != nil {
		t.Fatal(err)
	}
	return db, u
}

func TestTokensLifecycle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	db, u := newUserDB(t, now)
	clock := now
	ts := NewTokens(db, func() time.Time { return clock })
	secret, tok, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"npm:demo"}, Actions: []Action{Publish}, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := db.TokenByHash(ctx, HashToken(secret))
	if err != nil || stored.ID != tok.ID {
		t.Fatalf("token not stored by hash: %v", err)
	}
	if strings.Contains(stored.Hash+stored.PublicID+stored.Description, secret[len(TokenPrefix):len(TokenPrefix)+10]) {
		t.Errorf("stored token row contains part of the secret")
	}
	p, err := ts.Authenticate(ctx, secret)
	if err != nil || p.UserName != "alice" || !p.Allows(Publish, "npm", "demo") || p.Allows(Publish, "npm", "other") || p.Allows(Yank, "npm", "demo") {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	if _, err := ts.Authenticate(ctx, NewToken()); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Authenticate(unknown) = %v, want ErrUnauthenticated", err)
	}
	if _, err := ts.Authenticate(ctx, "trove_garbage"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Authenticate(malformed) = %v, want ErrUnauthenticated", err)
	}
	clock = now.Add(2 * time.Hour) // past the expiry, and past the cache entry
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("Authenticate(expired) = %v, want an expiry error", err)
	}

	clock = now
	secret2, tok2, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: Actions})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret2); err != nil {
		t.Fatal(err)
	}
	if err := ts.Revoke(ctx, u.ID, tok2.PublicID, Revocation{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret2); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("Authenticate(revoked, cached before) = %v, want ErrUnauthenticated at once", err)
	}
	if err := ts.Revoke(ctx, u.ID+1, tok.PublicID, Revocation{}); err == nil {
		t.Errorf("revoking another user's token succeeded")
	}
	if _, _, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: Actions, ExpiresAt: now.Add(-time.Minute)}); err == nil {
		t.Errorf("Create with an expiry in the past succeeded")
	}
	if _, _, err := ts.Create(ctx, u.ID, Spec{Actions: Actions}); err == nil {
		t.Errorf("Create without packages succeeded")
	}
}

// TestRevocationReachesReplicas checks that a token revoked on one replica
// stops working there at once, and on another replica (another Tokens over
// the same database) within CacheTTL, one second; and RevokeAll.
func TestRevocationReachesReplicas(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	db, u := newUserDB(t, clock)
	a, b := NewTokens(db, now), NewTokens(db, now)
	secret, tok, err := a.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: Actions})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*Tokens{a, b} {
		if _, err := r.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	if CacheTTL > time.Second {
		t.Fatalf("CacheTTL = %v: a revoked token would work on other replicas for longer than a second", CacheTTL)
	}
	if err := a.Revoke(ctx, u.ID, tok.PublicID, Revocation{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("on the revoking replica: %v, want ErrUnauthenticated at once", err)
	}
	clock = clock.Add(CacheTTL)
	if _, err := b.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("on another replica %v later: %v, want ErrUnauthenticated", CacheTTL, err)
	}

	// RevokeAll: every live token of the user, at once here.
	s1, _, _ := a.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: Actions})
	s2, _, _ := a.Create(ctx, u.ID, Spec{Packages: []Pattern{"npm:*"}, Actions: []Action{Read}})
	for _, s := range []string{s1, s2} {
		if _, err := a.Authenticate(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.RevokeAll(ctx, u.ID, Revocation{}); err != nil || n != 2 {
		t.Errorf("RevokeAll = %d, %v; want 2 (the revoked one does not count)", n, err)
	}
	for _, s := range []string{s1, s2} {
		if _, err := a.Authenticate(ctx, s); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("after RevokeAll: %v, want ErrUnauthenticated", err)
		}
	}
}

// TestTokenLifetimes: every token expires, after the default lifetime when
// its creator does not say; no creator may ask for more than the maximum,
// nor for no expiry unless the operator allows it.
func TestTokenLifetimes(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	db, u := newUserDB(t, now)
	clock := now
	ts := NewTokens(db, func() time.Time { return clock })
	all := Spec{Packages: []Pattern{"*"}, Actions: Actions}
	with := func(f func(*Spec)) Spec { s := all; f(&s); return s }
	const day = 24 * time.Hour

	secret, tok, err := ts.Create(ctx, u.ID, all)
	if err != nil || !tok.ExpiresAt.Equal(now.Add(90*day)) {
		t.Fatalf("Create without expiry = %v, %v; want an expiry 90 days ahead", tok, err)
	}
	clock = now.Add(90 * day)
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("a token made without an expiry works after 90 days: %v", err)
	}
	clock = now
	if _, tok, err := ts.Create(ctx, u.ID, with(func(s *Spec) { s.ExpiresAt = now.Add(365 * day) })); err != nil || !tok.ExpiresAt.Equal(now.Add(365*day)) {
		t.Errorf("Create(365 days) = %v, %v", tok, err)
	}
	for name, spec := range map[string]Spec{
		"longer than the maximum": with(func(s *Spec) { s.ExpiresAt = now.Add(366 * day) }),
		"no expiry":               with(func(s *Spec) { s.NoExpiry = true }),
		"in the past":             with(func(s *Spec) { s.ExpiresAt = now.Add(-time.Second) }),
	} {
		if _, _, err := ts.Create(ctx, u.ID, spec); !errors.Is(err, trove.ErrInvalid) {
			t.Errorf("Create(%s) = %v, want trove.ErrInvalid", name, err)
		}
	}

	ts.SetLifetimes(Lifetimes{Default: 7 * day, Max: 30 * day, AllowNoExpiry: true})
	if _, tok, err := ts.Create(ctx, u.ID, all); err != nil || !tok.ExpiresAt.Equal(now.Add(7*day)) {
		t.Errorf("Create with a 7-day default = %v, %v", tok, err)
	}
	if _, _, err := ts.Create(ctx, u.ID, with(func(s *Spec) { s.ExpiresAt = now.Add(31 * day) })); err == nil || !strings.Contains(err.Error(), "at most 30 days") {
		t.Errorf("Create(31 days, max 30) = %v", err)
	}
	secret, tok, err = ts.Create(ctx, u.ID, with(func(s *Spec) { s.NoExpiry = true }))
	if err != nil || !tok.ExpiresAt.IsZero() {
		t.Fatalf("Create(no expiry, allowed) = %v, %v", tok, err)
	}
	clock = now.Add(10 * 365 * day)
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Errorf("a token without expiry stopped working: %v", err)
	}
}

func TestDisabledAccountTokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	db, u := newUserDB(t, now)
	ts := NewTokens(db, func() time.Time { return now })
	secret, _, err := ts.Create(ctx, u.ID, Spec{Packages: []Pattern{"*"}, Actions: []Action{Read}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserDisabled(ctx, u.ID, now) }); err != nil {
		t.Fatal(err)
	}
	ts.Forget(u.ID) // as the admin page does; other replicas within CacheTTL
	if _, err := ts.Authenticate(ctx, secret); !errors.Is(err, ErrUnauthenticated) || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("a disabled account's token: %v", err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetUserDisabled(ctx, u.ID, time.Time{}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Authenticate(ctx, secret); err != nil {
		t.Errorf("re-enabled account's token: %v", err)
	}
}
