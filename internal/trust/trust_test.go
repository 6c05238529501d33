package trust_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/npm"
	"github.com/trove-dev/trove/internal/pypi"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/server/servertest"
	"github.com/trove-dev/trove/internal/trove"
	"github.com/trove-dev/trove/internal/trust"
	"github.com/trove-dev/trove/internal/trust/trusttest"
)

const aud = "trove.test"

type env struct {
	*servertest.Env
	svc                   *trust.Service
	github, gitlab, other *trusttest.Issuer
	alice                 *trove.User
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: servertest.New(t, servertest.Options{Rules: []registry.Rules{pypi.Rules{}, npm.Rules{}}}),
		github: trusttest.New(t), gitlab: trusttest.New(t), other: trusttest.New(t)}
	e.svc = trust.New(trust.Options{DB: e.DB, Registry: e.Registry, Tokens: e.Tokens, Audience: aud, Host: "trove.test", Leeway: time.Minute,
		Issuers: []trust.Issuer{{Name: "github", Kind: trust.GitHub, URL: e.github.URL}, {Name: "gitlab", Kind: trust.GitLab, URL: e.gitlab.URL},
			{Name: "ci", Kind: trust.Generic, URL: e.other.URL}}})
	e.alice = e.User(t, "alice", false)
	return e
}

var githubSpec = trust.Spec{Issuer: "github", Repository: "acme/demo", RepositoryOwnerID: "4242", Workflow: "release.yml", Environment: "release"}

func (e *env) add(t *testing.T, eco trove.Ecosystem, name string, spec trust.Spec) *trust.Publisher {
	t.Helper()
	p, err := e.svc.Add(context.Background(), servertest.Principal(e.alice), eco, name, spec)
	if err != nil {
		t.Fatalf("Add(%s, %+v) = %v", name, spec, err)
	}
	return p
}

// code returns the TokenError code of err, or "" if it is not one.
func code(err error) string {
	var te *trust.TokenError
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}

func TestExchangeGitHub(t *testing.T) {
	e := newEnv(t)
	p := e.add(t, trove.PyPI, "Demo_Pkg", githubSpec)
	if !p.Pending || p.Name != "demo-pkg" {
		t.Fatalf("publisher of a new name = %+v, want pending demo-pkg", p)
	}
	ctx := context.Background()
	m, err := e.svc.Exchange(ctx, e.github.Token(t, aud, trusttest.GitHub(nil)), aud, trove.PyPI, "")
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	if d := time.Until(m.ExpiresAt); d > trust.MintedLifetime || d < trust.MintedLifetime-time.Minute {
		t.Errorf("minted token expires in %s, want %s", d, trust.MintedLifetime)
	}
	who, err := e.Tokens.Authenticate(ctx, m.Token)
	if err != nil {
		t.Fatal(err)
	}
	if who.PublisherID != p.ID || who.UserID != e.alice.ID || len(who.Actions) != 1 || who.Actions[0] != access.Publish ||
		len(who.Packages) != 1 || who.Packages[0] != "pypi:demo-pkg" || who.Level != trove.AuthMFA {
		t.Errorf("minted principal = %+v, want alice's, publisher %d, publish on pypi:demo-pkg only, at mfa", who, p.ID)
	}
	// The minted token can do nothing else.
	if who.Allows(access.Publish, trove.PyPI, "other") || who.Allows(access.Yank, trove.PyPI, "demo-pkg") || who.Can(access.ManageTokens) {
		t.Errorf("minted token allows more than publishing demo-pkg")
	}
	if _, err := e.svc.Add(ctx, who, trove.PyPI, "demo-pkg", githubSpec); !errors.Is(err, access.ErrDenied) {
		t.Errorf("a minted token adding a publisher: %v, want ErrDenied", err)
	}
	// It expires.
	later := access.NewTokens(e.DB, func() time.Time { return time.Now().Add(trust.MintedLifetime + time.Second) })
	if _, err := later.Authenticate(ctx, m.Token); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("minted token after %s: %v, want ErrUnauthenticated", trust.MintedLifetime, err)
	}
}

func TestExchangeRefusals(t *testing.T) {
	e := newEnv(t)
	e.add(t, trove.PyPI, "demo", githubSpec)
	e.add(t, trove.NPM, "@acme/lib", trust.Spec{Issuer: "gitlab", Project: "acme/lib", Environment: "prod"})
	e.add(t, trove.PyPI, "tool", trust.Spec{Issuer: "ci", Claims: map[string]string{"sub": "job:1", "pipeline": "release"}})
	stranger := trusttest.New(t)
	past := time.Now().Add(-time.Hour)
	gitlab := trusttest.Claims{"project_path": "acme/lib", "ci_config_ref_uri": strings.TrimPrefix(e.gitlab.URL, "http://") + "/acme/lib//.gitlab-ci.yml@refs/heads/main", "environment": "prod"}
	for _, tc := range []struct {
		name      string
		token     string
		eco       trove.Ecosystem
		pkg, code string
	}{
		{"wrong audience", e.github.Token(t, "someone-else", trusttest.GitHub(nil)), trove.PyPI, "", "invalid-token"},
		{"expired", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"iat": past.Unix(), "nbf": past.Unix(), "exp": past.Add(5 * time.Minute).Unix()})), trove.PyPI, "", "invalid-token"},
		{"not yet valid", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"nbf": time.Now().Add(time.Hour).Unix()})), trove.PyPI, "", "invalid-token"},
		{"no jti", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"jti": nil})), trove.PyPI, "", "invalid-token"},
		{"too long lived", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"exp": time.Now().Add(7 * time.Hour).Unix()})), trove.PyPI, "", "invalid-token"},
		{"untrusted issuer", stranger.Token(t, aud, trusttest.GitHub(nil)), trove.PyPI, "", "invalid-token"},
		{"issuer claim of another key", stranger.Token(t, aud, trusttest.GitHub(trusttest.Claims{"iss": e.github.URL})), trove.PyPI, "", "invalid-token"},
		{"not a JWT", "trove_abc", trove.PyPI, "", "invalid-token"},
		{"unknown publisher", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"repository": "acme/other", "job_workflow_ref": "acme/other/.github/workflows/release.yml@refs/heads/main"})), trove.PyPI, "", "invalid-publisher"},
		{"github other workflow", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"job_workflow_ref": "acme/demo/.github/workflows/ci.yml@refs/heads/main"})), trove.PyPI, "", "invalid-publisher"},
		{"github other owner id", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"repository_owner_id": "1"})), trove.PyPI, "", "invalid-publisher"},
		{"github other environment", e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"environment": "test"})), trove.PyPI, "", "invalid-publisher"},
		{"github for another package", e.github.Token(t, aud, trusttest.GitHub(nil)), trove.PyPI, "tool", "invalid-publisher"},
		{"gitlab other project", e.gitlab.Token(t, aud, gitlab_(gitlab, "project_path", "acme/other")), trove.NPM, "@acme/lib", "invalid-publisher"},
		{"gitlab other config file", e.gitlab.Token(t, aud, gitlab_(gitlab, "ci_config_ref_uri", strings.TrimPrefix(e.gitlab.URL, "http://")+"/acme/lib//evil.yml@refs/heads/main")), trove.NPM, "@acme/lib", "invalid-publisher"},
		{"gitlab other environment", e.gitlab.Token(t, aud, gitlab_(gitlab, "environment", "dev")), trove.NPM, "@acme/lib", "invalid-publisher"},
		{"generic claim differs", e.other.Token(t, aud, trusttest.Claims{"sub": "job:1", "pipeline": "nightly"}), trove.PyPI, "tool", "invalid-publisher"},
		{"generic claim missing", e.other.Token(t, aud, trusttest.Claims{"sub": "job:1"}), trove.PyPI, "tool", "invalid-publisher"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.Exchange(context.Background(), tc.token, aud, tc.eco, tc.pkg)
			if code(err) != tc.code || !errors.Is(err, access.ErrUnauthenticated) {
				t.Errorf("Exchange = %v (code %q), want code %s", err, code(err), tc.code)
			}
		})
	}
	// The same kinds of token that match are accepted.
	if _, err := e.svc.Exchange(context.Background(), e.gitlab.Token(t, aud, gitlab), aud, trove.NPM, "@acme/lib"); err != nil {
		t.Errorf("gitlab exchange = %v", err)
	}
	if _, err := e.svc.Exchange(context.Background(), e.other.Token(t, aud, trusttest.Claims{"sub": "job:1", "pipeline": "release"}), aud, trove.PyPI, "tool"); err != nil {
		t.Errorf("generic exchange = %v", err)
	}
	if n := e.github.Discoveries.Load(); n != 1 {
		t.Errorf("discovery fetched %d times, want once (cached)", n)
	}
}

func gitlab_(c trusttest.Claims, k, v string) trusttest.Claims {
	out := trusttest.Claims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	out[k] = v
	return out
}

func TestReplay(t *testing.T) {
	e := newEnv(t)
	e.add(t, trove.PyPI, "demo", githubSpec)
	ctx := context.Background()
	tok := e.github.Token(t, aud, trusttest.GitHub(nil))
	if _, err := e.svc.Exchange(ctx, tok, aud, trove.PyPI, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Exchange(ctx, tok, aud, trove.PyPI, "demo"); code(err) != "invalid-reuse-token" {
		t.Errorf("second exchange = %v, want invalid-reuse-token", err)
	}
	// Concurrently: exactly one of many exchanges of one token succeeds.
	tok = e.github.Token(t, aud, trusttest.GitHub(nil))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, reused := 0, 0
	for range 8 {
		wg.Go(func() {
			_, err := e.svc.Exchange(ctx, tok, aud, trove.PyPI, "")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case code(err) == "invalid-reuse-token":
				reused++
			default:
				t.Errorf("concurrent exchange: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || reused != 7 {
		t.Errorf("concurrent exchanges: %d succeeded and %d were refused as reuse, want 1 and 7", ok, reused)
	}
}

func TestAddRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob := e.User(t, "bob", false)
	e.add(t, trove.PyPI, "demo", githubSpec)
	for _, tc := range []struct {
		name string
		who  *access.Principal
		pkg  string
		spec trust.Spec
		want error
	}{
		{"generic subject only", servertest.Principal(e.alice), "x", trust.Spec{Issuer: "ci", Claims: map[string]string{"sub": "job:1"}}, trove.ErrInvalid},
		{"generic iss rule", servertest.Principal(e.alice), "x", trust.Spec{Issuer: "ci", Claims: map[string]string{"iss": "x", "a": "b"}}, trove.ErrInvalid},
		{"generic no rules", servertest.Principal(e.alice), "x", trust.Spec{Issuer: "ci"}, trove.ErrInvalid},
		{"github without owner id", servertest.Principal(e.alice), "x", trust.Spec{Issuer: "github", Repository: "a/b", Workflow: "r.yml"}, trove.ErrInvalid},
		{"github with claims", servertest.Principal(e.alice), "x", trust.Spec{Issuer: "github", Repository: "a/b", RepositoryOwnerID: "1", Workflow: "r.yml", Claims: map[string]string{"a": "b"}}, trove.ErrInvalid},
		{"gitlab bad config file", servertest.Principal(e.alice), "x", trust.Spec{Issuer: "gitlab", Project: "a/b", ConfigFile: "../x.yml"}, trove.ErrInvalid},
		{"unknown issuer", servertest.Principal(e.alice), "x", trust.Spec{Issuer: "nope"}, trove.ErrInvalid},
		{"anonymous", nil, "x", githubSpec, access.ErrUnauthenticated},
		{"duplicate", servertest.Principal(e.alice), "demo", githubSpec, trove.ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.svc.Add(ctx, tc.who, trove.PyPI, tc.pkg, tc.spec); !errors.Is(err, tc.want) {
				t.Errorf("Add = %v, want %v", err, tc.want)
			}
		})
	}
	// Of a pending name, others neither see nor remove alice's publisher.
	if ps, err := e.svc.List(ctx, servertest.Principal(bob), trove.PyPI, "demo"); err != nil || len(ps) != 0 {
		t.Errorf("List of alice's pending publisher by bob = %v, %v; want none", ps, err)
	}
	if err := e.svc.Remove(ctx, servertest.Principal(bob), trove.PyPI, "demo", 1); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("Remove of alice's pending publisher by bob = %v, want ErrNotFound", err)
	}
}

func TestRemoveRevokes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := e.add(t, trove.PyPI, "demo", githubSpec)
	m, err := e.svc.Exchange(ctx, e.github.Token(t, aud, trusttest.GitHub(nil)), aud, trove.PyPI, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Remove(ctx, servertest.Principal(e.alice), trove.PyPI, "demo", p.ID); err != nil {
		t.Fatal(err)
	}
	fresh := access.NewTokens(e.DB, nil)
	if _, err := fresh.Authenticate(ctx, m.Token); !errors.Is(err, access.ErrUnauthenticated) {
		t.Errorf("token of a removed publisher: %v, want ErrUnauthenticated", err)
	}
	if _, err := e.svc.Exchange(ctx, e.github.Token(t, aud, trusttest.GitHub(nil)), aud, trove.PyPI, ""); code(err) != "invalid-publisher" {
		t.Errorf("exchange after removal = %v, want invalid-publisher", err)
	}
	if ps, err := e.svc.List(ctx, servertest.Principal(e.alice), trove.PyPI, "demo"); err != nil || len(ps) != 0 {
		t.Errorf("List after removal = %v, %v", ps, err)
	}
}

// TestReplayWithinLeeway: an ID token is still accepted up to its expiry
// plus the leeway, so its jti must stay recorded until then: a replay
// after the expiry, within the leeway, is refused as reuse (the purge of
// later exchanges keeps it), and once the leeway has passed the token is
// refused as expired. The key set is fetched once for all of it.
func TestReplayWithinLeeway(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	clock := time.Now()
	e.svc = trust.New(trust.Options{DB: e.DB, Registry: e.Registry, Tokens: e.Tokens, Audience: aud, Host: "trove.test", Leeway: time.Minute,
		Issuers: []trust.Issuer{{Name: "github", Kind: trust.GitHub, URL: e.github.URL}},
		Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	set := func(at time.Time) { mu.Lock(); clock = at; mu.Unlock() }
	e.add(t, trove.PyPI, "demo", githubSpec)
	ctx := context.Background()
	start := clock
	tok := e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"exp": start.Add(5 * time.Minute).Unix()}))
	if _, err := e.svc.Exchange(ctx, tok, aud, trove.PyPI, ""); err != nil {
		t.Fatal(err)
	}
	// 30s after the expiry: another exchange purges what has expired, and
	// the replay is still refused as reuse.
	set(start.Add(5*time.Minute + 30*time.Second))
	fresh := e.github.Token(t, aud, trusttest.GitHub(trusttest.Claims{"exp": start.Add(10 * time.Minute).Unix()}))
	if _, err := e.svc.Exchange(ctx, fresh, aud, trove.PyPI, ""); err != nil {
		t.Fatalf("a fresh token within the window: %v", err)
	}
	if _, err := e.svc.Exchange(ctx, tok, aud, trove.PyPI, ""); code(err) != "invalid-reuse-token" {
		t.Errorf("replay within the leeway = %v, want invalid-reuse-token", err)
	}
	set(start.Add(6*time.Minute + time.Second))
	if _, err := e.svc.Exchange(ctx, tok, aud, trove.PyPI, ""); code(err) != "invalid-token" || !strings.Contains(err.Error(), "expired") {
		t.Errorf("replay after the leeway = %v, want invalid-token (expired)", err)
	}
	if n := e.github.Keys.Load(); n != 1 {
		t.Errorf("keys fetched %d times, want once (cached)", n)
	}
}

// TestIssuerKeyRotation: after the issuer rotates its signing key, a token
// under the new key id makes the verifier fetch the key set again and is
// accepted; a token signed by a key the issuer never published is refused.
func TestIssuerKeyRotation(t *testing.T) {
	e := newEnv(t)
	e.add(t, trove.PyPI, "demo", githubSpec)
	ctx := context.Background()
	if _, err := e.svc.Exchange(ctx, e.github.Token(t, aud, trusttest.GitHub(nil)), aud, trove.PyPI, ""); err != nil {
		t.Fatal(err)
	}
	before := e.github.Keys.Load()
	e.github.Rotate(t)
	if _, err := e.svc.Exchange(ctx, e.github.Token(t, aud, trusttest.GitHub(nil)), aud, trove.PyPI, ""); err != nil {
		t.Fatalf("a token under the rotated key: %v", err)
	}
	if n := e.github.Keys.Load(); n <= before {
		t.Errorf("keys fetched %d times after the rotation, want a new fetch (had %d)", n, before)
	}
	// A token from another issuer's key, claiming to be GitHub's.
	forged := e.other.Token(t, aud, trusttest.GitHub(trusttest.Claims{"iss": e.github.URL}))
	if _, err := e.svc.Exchange(ctx, forged, aud, trove.PyPI, ""); code(err) != "invalid-token" {
		t.Errorf("a token signed by a key the issuer never published = %v, want invalid-token", err)
	}
}
