package registry_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/access"
	"github.com/trove-dev/trove/internal/blob/memblob"
	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
	"github.com/trove-dev/trove/internal/registry"
	"github.com/trove-dev/trove/internal/scan"
	"github.com/trove-dev/trove/internal/trove"
)

// burstEnv is an env whose registry has the worm guard at 5 packages in
// 10 minutes, and records the hold notices it sends.
type burstEnv struct {
	*env
	mu      sync.Mutex
	notices []registry.HeldUpload
}

func newBurstEnv(t *testing.T, db *meta.DB, scanners ...scan.Scanner) *burstEnv {
	t.Helper()
	e := &burstEnv{env: &env{db: db, blobs: memblob.New(), now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}}
	var err error
	e.reg, err = registry.New(registry.Config{DB: db, Blobs: e.blobs, Scan: scan.NewPipeline(scanners...),
		Rules: []registry.Rules{rules{"npm"}}, TempDir: filepath.Join(t.TempDir(), "tmp"), Now: func() time.Time { return e.now },
		Burst: registry.Burst{Packages: 5, Window: 10 * time.Minute},
		Held: func(_ context.Context, tx *meta.Tx, h registry.HeldUpload) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.notices = append(e.notices, h)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// token returns a principal presenting a new API token of who's.
func (e *env) token(t *testing.T, who *access.Principal, publicID string) *access.Principal {
	t.Helper()
	tok := &trove.Token{PublicID: publicID, Hash: "hash-" + publicID, UserID: who.UserID, Packages: []string{"*"},
		Actions: []string{"publish"}, CreatedAt: e.now, AuthLevel: trove.AuthMFA}
	if err := e.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertToken(ctx, tok) }); err != nil {
		t.Fatal(err)
	}
	p := *who
	p.TokenID, p.TokenPublicID = tok.ID, publicID
	return &p
}

func (e *env) try(t *testing.T, who *access.Principal, name, version string) error {
	t.Helper()
	_, err := e.reg.Publish(ctx, who, e.upload(t, name, version, map[string]string{name + "-" + version + ".tgz": name + version}))
	return err
}

// visible reports whether the version of the package can be read.
func (e *env) visible(t *testing.T, name, version string) bool {
	t.Helper()
	p, err := e.reg.Project(ctx, "npm", name)
	if errors.Is(err, trove.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Releases {
		if r.Version == version {
			return r.State.Visible()
		}
	}
	return false
}

func TestBurstHoldsLaterPackages(t *testing.T) {
	e := newBurstEnv(t, dbtest.Open(t))
	alice := e.token(t, e.user(t, "alice", false), "trove_alice1")
	for i := range 5 {
		if err := e.try(t, alice, fmt.Sprintf("pkg%d", i), "1.0"); err != nil {
			t.Fatalf("publish %d of 5: %v", i+1, err)
		}
		e.now = e.now.Add(time.Minute)
	}
	// A new version of a package already counted is not a new package.
	if err := e.try(t, alice, "pkg0", "1.1"); err != nil {
		t.Fatalf("a second version of a counted package: %v", err)
	}
	err := e.try(t, alice, "pkg5", "1.0")
	if !errors.Is(err, trove.ErrHeld) {
		t.Fatalf("the sixth package = %v, want ErrHeld", err)
	}
	for _, want := range []string{"pkg5 1.0 is held for review", "trove_alice1", "more than 5 packages within 10m0s", "administrator"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the hold's message %q does not say %q", err, want)
		}
	}
	if e.visible(t, "pkg5", "1.0") {
		t.Error("the held release is visible")
	}
	// Once tripped, the rest of the window is held, counted packages too.
	if err := e.try(t, alice, "pkg6", "1.0"); !errors.Is(err, trove.ErrHeld) {
		t.Errorf("the seventh package = %v, want ErrHeld", err)
	}
	if err := e.try(t, alice, "pkg1", "1.1"); !errors.Is(err, trove.ErrHeld) {
		t.Errorf("a new version of a counted package after the guard tripped = %v, want ErrHeld", err)
	}
	// The version is taken while held.
	if err := e.try(t, alice, "pkg5", "1.0"); !errors.Is(err, trove.ErrInProgress) {
		t.Errorf("publishing a held version again = %v, want ErrInProgress", err)
	}
	held, err := e.reg.HeldReleases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range held {
		got = append(got, fmt.Sprintf("%s %s %s %s", h.Name, h.Version, h.Reason, h.Publisher))
		if h.TokenID != alice.TokenID || h.Token != "trove_alice1" {
			t.Errorf("%s %s held with token %d %q, want %d trove_alice1", h.Name, h.Version, h.TokenID, h.Token, alice.TokenID)
		}
	}
	want := []string{"pkg5 1.0 burst alice", "pkg6 1.0 burst alice", "pkg1 1.1 burst alice"}
	if !slices.Equal(got, want) {
		t.Errorf("HeldReleases = %q, want %q", got, want)
	}
	if len(e.notices) != 3 || e.notices[0].Reason != "burst" || !slices.Equal(e.notices[0].UserIDs, []int64{alice.UserID}) ||
		!strings.Contains(e.notices[0].Message, "held for review") {
		t.Errorf("notices = %+v, want three about holds, to alice", e.notices)
	}
}

// TestBurstWindowEdge: a publish counts for exactly the window after it
// began.
func TestBurstWindowEdge(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		held  bool
	}{
		{10*time.Minute - time.Microsecond, true},
		{10 * time.Minute, false},
	} {
		t.Run(tc.after.String(), func(t *testing.T) {
			e := newBurstEnv(t, dbtest.Open(t))
			alice := e.token(t, e.user(t, "alice", false), "trove_alice1")
			start := e.now
			for i := range 5 {
				if err := e.try(t, alice, fmt.Sprintf("pkg%d", i), "1.0"); err != nil {
					t.Fatal(err)
				}
			}
			e.now = start.Add(tc.after)
			err := e.try(t, alice, "pkg5", "1.0")
			if held := errors.Is(err, trove.ErrHeld); held != tc.held || err != nil && !held {
				t.Errorf("sixth package %v after the first five: %v, want held %v", tc.after, err, tc.held)
			}
		})
	}
}

// TestBurstManyVersionsOfOnePackage: a release train is not a worm.
func TestBurstManyVersionsOfOnePackage(t *testing.T) {
	e := newBurstEnv(t, dbtest.Open(t))
	alice := e.token(t, e.user(t, "alice", false), "trove_alice1")
	for i := range 20 {
		if err := e.try(t, alice, "train", fmt.Sprintf("1.%d", i+1)); err != nil {
			t.Fatalf("version %d of one package: %v", i+1, err)
		}
	}
}

// TestBurstPerCredential: each token counts alone; other credentials of
// the user (here: none, a web session) count together.
func TestBurstPerCredential(t *testing.T) {
	e := newBurstEnv(t, dbtest.Open(t))
	alice := e.user(t, "alice", false)
	one, two := e.token(t, alice, "trove_one"), e.token(t, alice, "trove_two")
	bob := e.token(t, e.user(t, "bob", false), "trove_bob")
	for i := range 5 {
		for _, who := range []*access.Principal{one, two, alice, bob} {
			name := fmt.Sprintf("%s-%s-%d", who.UserName, who.TokenPublicID, i)
			name = strings.NewReplacer("_", "", "trove", "").Replace(name)
			if err := e.try(t, who, name, "1.0"); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	if err := e.try(t, alice, "alice-sixth", "1.0"); !errors.Is(err, trove.ErrHeld) {
		t.Errorf("the sixth package without a token = %v, want ErrHeld", err)
	}
	if err := e.try(t, two, "two-sixth", "1.0"); !errors.Is(err, trove.ErrHeld) {
		t.Errorf("the sixth package of a token = %v, want ErrHeld", err)
	}
}

// TestBurstMintedTokensTogether: the tokens a user's trusted publishers
// mint each cover one package, so the guard counts them together: a worm
// that mints one per package is held like one token going through many.
// The user's own token is counted apart.
func TestBurstMintedTokensTogether(t *testing.T) {
	e := newBurstEnv(t, dbtest.Open(t))
	alice := e.user(t, "alice", false)
	minted := func(i int) *access.Principal {
		id := fmt.Sprintf("trove_minted%d", i)
		name := fmt.Sprintf("ci-%d", i)
		tok := &trove.Token{PublicID: id, Hash: "hash-" + id, UserID: alice.UserID, Packages: []string{"npm:" + name},
			Actions: []string{"publish"}, CreatedAt: e.now, AuthLevel: trove.AuthMFA, PublisherID: int64(i + 1)}
		if err := e.db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertToken(ctx, tok) }); err != nil {
			t.Fatal(err)
		}
		p := *alice
		p.TokenID, p.TokenPublicID, p.PublisherID = tok.ID, id, tok.PublisherID
		p.Packages = []access.Pattern{access.Pattern("npm:" + name)}
		return &p
	}
	own := e.token(t, alice, "trove_own")
	for i := range 5 {
		if err := e.try(t, minted(i), fmt.Sprintf("ci-%d", i), "1.0"); err != nil {
			t.Fatalf("package %d with its own minted token: %v", i+1, err)
		}
	}
	if err := e.try(t, own, "by-hand", "1.0"); err != nil {
		t.Errorf("alice's own token after five minted ones = %v, want published (counted apart)", err)
	}
	if err := e.try(t, minted(5), "ci-5", "1.0"); !errors.Is(err, trove.ErrHeld) {
		t.Errorf("a sixth package with a sixth minted token = %v, want ErrHeld", err)
	}
}

func TestBurstOff(t *testing.T) {
	e := newEnv(t) // no Burst in the config: the guard is off
	alice := e.token(t, e.user(t, "alice", false), "trove_alice1")
	for i := range 10 {
		if err := e.try(t, alice, fmt.Sprintf("pkg%d", i), "1.0"); err != nil {
			t.Fatalf("package %d with the guard off: %v", i+1, err)
		}
	}
}

// TestBurstNoticesOwners: the package's other owners are told, with the
// publisher.
func TestBurstNoticesOwners(t *testing.T) {
	e := newBurstEnv(t, dbtest.Open(t))
	alice, bob := e.user(t, "alice", false), e.user(t, "bob", false)
	e.publish(t, bob, "shared", "1.0", "x")
	if err := e.reg.AddOwner(ctx, bob, "npm", "shared", "alice"); err != nil {
		t.Fatal(err)
	}
	tok := e.token(t, alice, "trove_alice1")
	for i := range 5 {
		if err := e.try(t, tok, fmt.Sprintf("pkg%d", i), "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.try(t, tok, "shared", "2.0"); !errors.Is(err, trove.ErrHeld) {
		t.Fatalf("publish = %v, want ErrHeld", err)
	}
	if len(e.notices) != 1 {
		t.Fatalf("notices = %+v, want one", e.notices)
	}
	ids := e.notices[0].UserIDs
	slices.Sort(ids)
	want := []int64{alice.UserID, bob.UserID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("notice to %v, want alice (%d) and bob (%d)", ids, alice.UserID, bob.UserID)
	}
	if e.notices[0].Package.Name != "shared" || e.notices[0].Version != "2.0" {
		t.Errorf("notice about %s %s", e.notices[0].Package.Name, e.notices[0].Version)
	}
}

// TestHeldReleaseAndReject: an administrator's release publishes a held
// upload with its tags; a rejection frees its version; neither works on
// a release that is not held.
func TestHeldReleaseAndReject(t *testing.T) {
	e := newBurstEnv(t, dbtest.Open(t))
	alice := e.token(t, e.user(t, "alice", false), "trove_alice1")
	for i := range 5 {
		if err := e.try(t, alice, fmt.Sprintf("pkg%d", i), "1.0"); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"pkg5", "pkg6"} {
		if err := e.try(t, alice, n, "1.0"); !errors.Is(err, trove.ErrHeld) {
			t.Fatalf("%s = %v, want ErrHeld", n, err)
		}
	}
	res, err := e.reg.ReleaseHeld(ctx, "npm", "pkg5", "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if res.Release.State != trove.Published || !e.visible(t, "pkg5", "1.0") {
		t.Errorf("released upload: state %s, visible %v", res.Release.State, e.visible(t, "pkg5", "1.0"))
	}
	p, err := e.reg.Project(ctx, "npm", "pkg5")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tags) != 1 || p.Tags[0].Tag != "latest" || len(p.Files) != 1 || p.Files[0].State != trove.Published {
		t.Errorf("released project: tags %+v, files %+v", p.Tags, p.Files)
	}
	if _, err := e.reg.ReleaseHeld(ctx, "npm", "pkg5", "1.0"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("releasing it again = %v, want ErrNotFound", err)
	}
	if err := e.reg.RejectHeld(ctx, "npm", "pkg0", "1.0"); !errors.Is(err, trove.ErrNotFound) {
		t.Errorf("rejecting a published release = %v, want ErrNotFound", err)
	}
	if err := e.reg.RejectHeld(ctx, "npm", "pkg6", "1.0"); err != nil {
		t.Fatal(err)
	}
	if e.visible(t, "pkg6", "1.0") {
		t.Error("a rejected upload is visible")
	}
	if held, err := e.reg.HeldReleases(ctx); err != nil || len(held) != 0 {
		t.Errorf("holds after release and reject = %v, %v; want none", held, err)
	}
	// The rejected version is free again; the window is over by now.
	e.now = e.now.Add(time.Hour)
	if err := e.try(t, alice, "pkg6", "1.0"); err != nil {
		t.Errorf("publishing a rejected version again: %v", err)
	}
}

// TestScanHoldIsRecorded: a scanner's hold is listed and released like
// the guard's.
func TestScanHoldIsRecorded(t *testing.T) {
	e := newBurstEnv(t, dbtest.Open(t), &verdictScanner{verdict: scan.Hold})
	alice := e.user(t, "alice", false)
	err := e.try(t, alice, "demo", "1.0")
	if !errors.Is(err, trove.ErrHeld) || !strings.Contains(err.Error(), "administrator") {
		t.Fatalf("Publish = %v, want ErrHeld saying what happens next", err)
	}
	held, err := e.reg.HeldReleases(ctx)
	if err != nil || len(held) != 1 || held[0].Reason != "scan" || !slices.Equal(held[0].Tags, []string{"latest"}) {
		t.Fatalf("HeldReleases = %+v, %v", held, err)
	}
	if len(e.notices) != 1 || e.notices[0].Reason != "scan" {
		t.Errorf("notices = %+v", e.notices)
	}
	if _, err := e.reg.ReleaseHeld(ctx, "npm", "demo", "1.0"); err != nil {
		t.Fatal(err)
	}
	if !e.visible(t, "demo", "1.0") {
		t.Error("released upload not visible")
	}
}

// TestRaceBurst: concurrent publishes with one token to eight packages
// publish exactly five and hold three, on every engine.
func TestRaceBurst(t *testing.T) {
	for _, engine := range dbtest.Engines {
		t.Run(engine.Name, func(t *testing.T) {
			e := newBurstEnv(t, engine.Open(t))
			alice := e.token(t, e.user(t, "alice", false), "trove_alice1")
			for round := range 3 {
				var fns []func() error
				for i := range 8 {
					u := e.upload(t, fmt.Sprintf("r%d-pkg%d", round, i), "1.0", map[string]string{fmt.Sprintf("r%d-pkg%d.tgz", round, i): "x"})
					fns = append(fns, func() error { _, err := e.reg.Publish(ctx, alice, u); return err })
				}
				published, held := 0, 0
				for _, err := range together(fns...) {
					switch {
					case err == nil:
						published++
					case errors.Is(err, trove.ErrHeld):
						held++
					default:
						t.Fatalf("round %d: publish failed: %v", round, err)
					}
				}
				if published != 5 || held != 3 {
					t.Fatalf("round %d: %d published and %d held, want 5 and 3", round, published, held)
				}
				e.now = e.now.Add(time.Hour) // a new window for the next round
			}
		})
	}
}
