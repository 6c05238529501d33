// Package metatest is the conformance suite every database engine behind
// meta.DB must pass: the same schema, queries and error translation.
package metatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// Run runs the suite; newDB returns a fresh, empty, migrated database.
func Run(t *testing.T, newDB func(t *testing.T) *meta.DB) {
	t.Run("Users", func(t *testing.T) { testUsers(t, newDB(t)) })
	t.Run("PublicEmail", func(t *testing.T) { testPublicEmail(t, newDB(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, newDB(t)) })
	t.Run("ReleasesNeverReused", func(t *testing.T) { testReleasesNeverReused(t, newDB(t)) })
	t.Run("QuarantineRollback", func(t *testing.T) { testQuarantineRollback(t, newDB(t)) })
	t.Run("AdminQuarantine", func(t *testing.T) { testAdminQuarantine(t, newDB(t)) })
	t.Run("DistTags", func(t *testing.T) { testDistTags(t, newDB(t)) })
	t.Run("Owners", func(t *testing.T) { testOwners(t, newDB(t)) })
	t.Run("Roles", func(t *testing.T) { testRoles(t, newDB(t)) })
	t.Run("Orgs", func(t *testing.T) { testOrgs(t, newDB(t)) })
	t.Run("RoleSince", func(t *testing.T) { testRoleSince(t, newDB(t)) })
	t.Run("Review", func(t *testing.T) { testReview(t, newDB(t)) })
	t.Run("Reports", func(t *testing.T) { testReports(t, newDB(t)) })
	t.Run("Changes", func(t *testing.T) { testChanges(t, newDB(t)) })
	t.Run("Search", func(t *testing.T) { testSearch(t, newDB(t)) })
	t.Run("PrivateViewers", func(t *testing.T) { testPrivateViewers(t, newDB(t)) })
	t.Run("PageQueries", func(t *testing.T) { testPageQueries(t, newDB(t)) })
	t.Run("LoginSessions", func(t *testing.T) { testLoginSessions(t, newDB(t)) })
	t.Run("NPMOTPChallenges", func(t *testing.T) { testNPMOTPChallenges(t, newDB(t)) })
	t.Run("WebSessions", func(t *testing.T) { testWebSessions(t, newDB(t)) })
	t.Run("UserDisabled", func(t *testing.T) { testUserDisabled(t, newDB(t)) })
	t.Run("TxRollback", func(t *testing.T) { testTxRollback(t, newDB(t)) })
	t.Run("TransparencyLog", func(t *testing.T) { testTransparencyLog(t, newDB(t)) })
	t.Run("ByteOrder", func(t *testing.T) { testByteOrder(t, newDB(t)) })
	t.Run("Locks", func(t *testing.T) { testLocks(t, newDB(t)) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConcurrentAppends(t, newDB(t)) })
	t.Run("SnapshotIsolation", func(t *testing.T) { testSnapshotIsolation(t, newDB(t)) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, newDB(t)) })
	t.Run("JobsConcurrent", func(t *testing.T) { testJobsConcurrent(t, newDB(t)) })
	t.Run("SharedRates", func(t *testing.T) { testSharedRates(t, newDB(t)) })
	t.Run("SigningLock", func(t *testing.T) { testSigningLock(t, newDB(t)) })
	t.Run("UpstreamDocs", func(t *testing.T) { testUpstreamDocs(t, newDB(t)) })
	t.Run("UpstreamExceptions", func(t *testing.T) { testUpstreamExceptions(t, newDB(t)) })
	t.Run("UpstreamSumState", func(t *testing.T) { testUpstreamSumState(t, newDB(t)) })
	t.Run("PackagePolicies", func(t *testing.T) { testPackagePolicies(t, newDB(t)) })
	t.Run("TrustedPublishers", func(t *testing.T) { testTrustedPublishers(t, newDB(t)) })
	t.Run("Downloads", func(t *testing.T) { testDownloads(t, newDB(t)) })
	t.Run("Factors", func(t *testing.T) { testFactors(t, newDB(t)) })
	t.Run("Recovery", func(t *testing.T) { testRecovery(t, newDB(t)) })
	t.Run("EmailDomains", func(t *testing.T) { testEmailDomains(t, newDB(t)) })
	t.Run("EraseUser", func(t *testing.T) { testEraseUser(t, newDB(t)) })
	t.Run("ActiveAdmins", func(t *testing.T) { testActiveAdmins(t, newDB(t)) })
	t.Run("SecurityEventFilters", func(t *testing.T) { testSecurityEventFilters(t, newDB(t)) })
	t.Run("AuditLog", func(t *testing.T) { testAuditLog(t, newDB(t)) })
	t.Run("Malware", func(t *testing.T) { testMalware(t, newDB(t)) })
	t.Run("DumpRoundTrip", func(t *testing.T) { testDumpRoundTrip(t, newDB) })
	t.Run("DumpLoadErrors", func(t *testing.T) { testDumpLoadErrors(t, newDB(t)) })
}

// The metadata database stores the transparency log.
var (
	_ translog.Writer = (*meta.Tx)(nil)
	_ translog.Store  = (*meta.DB)(nil)
	_ translog.Store  = (*meta.Snapshot)(nil)
)

func testTransparencyLog(t *testing.T, db *meta.DB) {
	var texts [][]byte
	for i := 0; i < 300; i++ {
		texts = append(texts, []byte(fmt.Sprintf("record %d\n", i)))
	}
	// Appends in several transactions, several records each.
	for i := 0; i < len(texts); i += 7 {
		batch := texts[i:min(i+7, len(texts))]
		tx(t, db, func(tx *meta.Tx) error {
			first, err := translog.Append(ctx, tx, batch...)
			if err != nil {
				return err
			}
			return tx.IndexLogRecord(ctx, "npm", "demo", fmt.Sprint(i), "publish", first)
		})
	}
	// A rolled-back append leaves nothing.
	boom := errors.New("boom")
	if err := db.Tx(ctx, func(tx *meta.Tx) error {
		translog.Append(ctx, tx, []byte("never\n"))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	n, err := db.LogSize(ctx)
	if err != nil || n != 300 {
		t.Fatalf("LogSize = %d, %v; want 300", n, err)
	}
	tree, err := translog.TreeOf(ctx, db, n)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{0, 1, 150, 255, 256, 299} {
		p, err := translog.ProveRecord(ctx, db, id, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, n, tree.Hash, id, tlog.RecordHash(texts[id])); err != nil {
			t.Errorf("record %d: %v", id, err)
		}
	}
	recs, err := db.ReadLogRecords(ctx, 255, 3)
	if err != nil || len(recs) != 3 || string(recs[0]) != "record 255\n" {
		t.Errorf("ReadLogRecords = %q, %v", recs, err)
	}
	if _, err := db.ReadLogRecords(ctx, 299, 2); err == nil {
		t.Errorf("ReadLogRecords past the end succeeded")
	}
	entries, err := db.LogEntries(ctx, "npm", "demo", "14")
	if err != nil || len(entries) != 1 || entries[0].ID != 14 || entries[0].Kind != "publish" {
		t.Errorf("LogEntries = %+v, %v", entries, err)
	}
	// Record ids are unique: a second writer at the same id fails.
	err = db.Tx(ctx, func(tx *meta.Tx) error { return tx.WriteLogRecord(ctx, 5, []byte("dup\n"), 0, nil) })
	if !errors.Is(err, meta.ErrConflict) {
		t.Errorf("writing an existing record id = %v, want ErrConflict", err)
	}
}

var (
	ctx = context.Background()
	now = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
)

func tx(t *testing.T, db *meta.DB, fn func(tx *meta.Tx) error) {
	t.Helper()
	if err := db.Tx(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func addUser(t *testing.T, db *meta.DB, name string) *trove.User {
	t.Helper()
	u := &trove.User{Name: name, Email: name + "@example.test", CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertUser(ctx, u, "$argon2id$x") })
	return u
}

func addPackage(t *testing.T, db *meta.DB, eco trove.Ecosystem, name trove.Name) *trove.Package {
	t.Helper()
	p := &trove.Package{Ecosystem: eco, Name: name, DisplayName: string(name), Skeleton: string(name), CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertPackage(ctx, p) })
	return p
}

func addRelease(t *testing.T, db *meta.DB, p *trove.Package, version string, state trove.State) *trove.Release {
	t.Helper()
	r := &trove.Release{PackageID: p.ID, Version: version, VersionKey: version, State: state, Metadata: []byte(`{}`), CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.InsertRelease(ctx, r); err != nil {
			return err
		}
		return tx.InsertFile(ctx, &trove.File{ReleaseID: r.ID, PackageID: p.ID, Filename: string(p.Name) + "-" + version + ".tgz",
			Kind: "tarball", State: state, Size: 3, SHA256: "aa", SHA512: "bb", SHA1: "cc", Blake2b256: "dd", MD5: "ee", CreatedAt: now})
	})
	return r
}

func testUsers(t *testing.T, db *meta.DB) {
	u := addUser(t, db, "alice")
	got, err := db.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got); diff != "" {
		t.Errorf("UserByName mismatch (-want +got):\n%s", diff)
	}
	if _, err := db.UserByName(ctx, "bob"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("UserByName(missing) = %v, want ErrNotFound", err)
	}
	err = db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.InsertUser(ctx, &trove.User{Name: "alice", Email: "x", CreatedAt: now}, "y")
	})
	if !errors.Is(err, meta.ErrConflict) {
		t.Errorf("InsertUser(taken name) = %v, want ErrConflict", err)
	}
	if n, _ := db.CountUsers(ctx); n != 1 {
		t.Errorf("CountUsers = %d, want 1", n)
	}
}

// testPublicEmail: the email opt-in is stored, read back by every query
// that returns users, and marks each package the user owns as changed.
func testPublicEmail(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	if alice.PublicEmail {
		t.Fatal("a new user's email is public")
	}
	a, b := addPackage(t, db, "npm", "a"), addPackage(t, db, "pypi", "b")
	addPackage(t, db, "npm", "other")
	tx(t, db, func(tx *meta.Tx) error {
		for _, p := range []*trove.Package{a, b} {
			if err := tx.AddOwner(ctx, p.ID, alice.ID, now); err != nil {
				return err
			}
		}
		return tx.AddOwner(ctx, a.ID, bob.ID, now)
	})
	before, _ := db.LastSerial(ctx)
	tx(t, db, func(tx *meta.Tx) error { return tx.SetPublicEmail(ctx, alice.ID, true, now) })
	for _, get := range []func() (*trove.User, error){
		func() (*trove.User, error) { return db.UserByName(ctx, "alice") },
		func() (*trove.User, error) { return db.UserByID(ctx, alice.ID) },
	} {
		if u, err := get(); err != nil || !u.PublicEmail {
			t.Errorf("after SetPublicEmail(true): %+v, %v", u, err)
		}
	}
	owners, err := db.Owners(ctx, a.ID)
	if err != nil || len(owners) != 2 || !owners[0].PublicEmail || owners[1].PublicEmail {
		t.Errorf("Owners = %+v, %v; want alice public, bob not", owners, err)
	}
	changes, err := db.ChangesSince(ctx, before, 10)
	var names []string
	for _, c := range changes {
		names = append(names, c.Ecosystem+":"+c.Name+":"+c.Kind)
	}
	if err != nil || !slices.Equal(names, []string{"npm:a:profile", "pypi:b:profile"}) {
		t.Errorf("changes after SetPublicEmail = %v, %v; want one per package alice owns", names, err)
	}
	// A public address that changes marks the packages again.
	before, _ = db.LastSerial(ctx)
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.SetUserEmail(ctx, alice.ID, "alice@new.example"); err != nil {
			return err
		}
		return tx.PublicEmailChanged(ctx, alice.ID, now)
	})
	if changes, err := db.ChangesSince(ctx, before, 10); err != nil || len(changes) != 2 {
		t.Errorf("changes after a public address changed = %d, %v; want 2", len(changes), err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.SetPublicEmail(ctx, alice.ID, false, now) })
	if u, _ := db.UserByName(ctx, "alice"); u.PublicEmail || u.Email != "alice@new.example" {
		t.Errorf("after SetPublicEmail(false): %+v", u)
	}
	// A private one does not.
	before, _ = db.LastSerial(ctx)
	tx(t, db, func(tx *meta.Tx) error { return tx.PublicEmailChanged(ctx, alice.ID, now) })
	if changes, err := db.ChangesSince(ctx, before, 10); err != nil || len(changes) != 0 {
		t.Errorf("changes after a private address changed = %d, %v; want 0", len(changes), err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.SetPublicEmail(ctx, 9999, true, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("SetPublicEmail(unknown user) = %v, want ErrNotFound", err)
	}
}

func testTokens(t *testing.T, db *meta.DB) {
	u := addUser(t, db, "alice")
	tok := &trove.Token{PublicID: "pub1", Hash: "h1", UserID: u.ID, Description: "ci", Packages: []string{"npm:@acme/*"},
		Actions: []string{"publish"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour), AuthLevel: trove.AuthMFA,
		CIDRs: []string{"10.0.0.0/8", "2001:db8::/32"}}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertToken(ctx, tok) })
	// The time of last use is written at most once a minute, whoever asks.
	for _, c := range []struct {
		at   time.Time
		want time.Time
	}{
		{now.Add(time.Second), now.Add(time.Second)},
		{now.Add(30 * time.Second), now.Add(time.Second)},
		{now.Add(61 * time.Second), now.Add(61 * time.Second)},
	} {
		tx(t, db, func(tx *meta.Tx) error { return tx.TouchToken(ctx, tok.ID, c.at, time.Minute) })
		if got, _ := db.TokenByHash(ctx, "h1"); !got.LastUsedAt.Equal(c.want) {
			t.Errorf("after TouchToken(%v): LastUsedAt = %v, want %v", c.at, got.LastUsedAt, c.want)
		}
	}
	tok.LastUsedAt = now.Add(61 * time.Second)
	got, err := db.TokenByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("TokenByHash mismatch (-want +got):\n%s", diff)
	}
	tx(t, db, func(tx *meta.Tx) error {
		if ok, err := tx.RevokeToken(ctx, u.ID, "pub1", now.Add(time.Minute)); !ok || err != nil {
			t.Errorf("first RevokeToken = %v, %v; want true, nil", ok, err)
		}
		return nil
	})
	tx(t, db, func(tx *meta.Tx) error {
		if ok, err := tx.RevokeToken(ctx, u.ID, "pub1", now.Add(time.Hour)); ok || err != nil {
			t.Errorf("second RevokeToken = %v, %v; want false, nil", ok, err)
		}
		return nil
	})
	got, _ = db.TokenByHash(ctx, "h1")
	if !got.RevokedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("RevokedAt = %v, want the first revocation time %v", got.RevokedAt, now.Add(time.Minute))
	}
	other := addUser(t, db, "mallory")
	err = db.Tx(ctx, func(tx *meta.Tx) error { _, err := tx.RevokeToken(ctx, other.ID, "pub1", now); return err })
	if !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("RevokeToken(another user's token) = %v, want ErrNotFound", err)
	}
	list, err := db.TokensOfUser(ctx, u.ID)
	if err != nil || len(list) != 1 {
		t.Errorf("TokensOfUser = %d tokens, %v; want 1", len(list), err)
	}

	// The live tokens, revoked by id and all at once.
	mk := func(pub string, user int64, expires time.Time) *trove.Token {
		tk := &trove.Token{PublicID: pub, Hash: "h-" + pub, UserID: user, Packages: []string{"*"}, Actions: []string{"read"}, CreatedAt: now, ExpiresAt: expires}
		tx(t, db, func(tx *meta.Tx) error { return tx.InsertToken(ctx, tk) })
		return tk
	}
	a1 := mk("a1", u.ID, now.Add(time.Hour))
	mk("a2", u.ID, time.Time{})
	mk("m1", other.ID, now.Add(time.Hour))
	mk("m2", other.ID, now.Add(-time.Hour)) // expired: not live, but still revoked by RevokeAllTokens
	live, err := db.LiveTokens(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	var pubs []string
	for _, tk := range live {
		pubs = append(pubs, tk.PublicID)
	}
	if diff := cmp.Diff([]string{"a1", "a2", "m1"}, pubs); diff != "" {
		t.Errorf("LiveTokens (-want +got):\n%s", diff)
	}
	var n int
	tx(t, db, func(tx *meta.Tx) (err error) {
		n, err = tx.RevokeTokensByID(ctx, []int64{a1.ID, tok.ID, 99999}, now)
		return err
	})
	if n != 1 {
		t.Errorf("RevokeTokensByID(live, revoked, unknown) = %d, want 1", n)
	}
	var per map[int64]int
	tx(t, db, func(tx *meta.Tx) (err error) { per, err = tx.RevokeAllTokens(ctx, now); return err })
	if diff := cmp.Diff(map[int64]int{u.ID: 1, other.ID: 2}, per); diff != "" {
		t.Errorf("RevokeAllTokens (-want +got):\n%s", diff)
	}
	if live, err := db.LiveTokens(ctx, now); err != nil || len(live) != 0 {
		t.Errorf("LiveTokens after RevokeAllTokens = %d, %v; want none", len(live), err)
	}
}

func testReleasesNeverReused(t *testing.T, db *meta.DB) {
	p := addPackage(t, db, "npm", "demo")
	r := addRelease(t, db, p, "1.0.0", trove.Published)
	tx(t, db, func(tx *meta.Tx) error {
		return tx.SetReleaseState(ctx, r.ID, trove.Published, trove.Deleted, now)
	})
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.InsertRelease(ctx, &trove.Release{PackageID: p.ID, Version: "1.0.0", VersionKey: "1.0.0", State: trove.Quarantined, Metadata: []byte(`{}`), CreatedAt: now})
	})
	if !errors.Is(err, meta.ErrConflict) {
		t.Errorf("InsertRelease(deleted version) = %v, want ErrConflict", err)
	}
	r2 := addRelease(t, db, p, "2.0.0", trove.Published)
	err = db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.InsertFile(ctx, &trove.File{ReleaseID: r2.ID, PackageID: p.ID, Filename: "demo-1.0.0.tgz", Kind: "tarball",
			State: trove.Quarantined, SHA256: "ff", CreatedAt: now})
	})
	if !errors.Is(err, meta.ErrConflict) {
		t.Errorf("InsertFile(filename of a deleted release) = %v, want ErrConflict", err)
	}
	f, err := db.File(ctx, p.ID, "demo-1.0.0.tgz")
	if err != nil || f.State != trove.Deleted {
		t.Errorf("File(deleted) = %+v, %v; want a tombstone in state deleted", f, err)
	}
	rs, err := db.Releases(ctx, p.ID)
	if err != nil || len(rs) != 2 || rs[0].State != trove.Deleted || rs[0].DeletedAt.IsZero() {
		t.Errorf("Releases = %+v, %v; want the tombstone and 2.0.0", rs, err)
	}
}

func testQuarantineRollback(t *testing.T, db *meta.DB) {
	p := addPackage(t, db, "npm", "demo")
	r := addRelease(t, db, p, "1.0.0", trove.Quarantined)
	tx(t, db, func(tx *meta.Tx) error { return tx.DiscardQuarantined(ctx, r.ID) })
	if _, err := db.Release(ctx, p.ID, "1.0.0"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Release after DiscardQuarantined = %v, want ErrNotFound", err)
	}
	// The package, version and filename are free again: nothing was ever
	// visible, and a package without any release is not kept.
	if _, err := db.Package(ctx, "npm", "demo"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("Package after discarding its only release = %v, want ErrNotFound", err)
	}
	p = addPackage(t, db, "npm", "demo")
	addRelease(t, db, p, "1.0.0", trove.Published)
	r2, _ := db.Release(ctx, p.ID, "1.0.0")
	tx(t, db, func(tx *meta.Tx) error { return tx.DiscardQuarantined(ctx, r2.ID) })
	if got, _ := db.Release(ctx, p.ID, "1.0.0"); got == nil || got.State != trove.Published {
		t.Errorf("published release changed by DiscardQuarantined: %+v", got)
	}
}

func testDistTags(t *testing.T, db *meta.DB) {
	p := addPackage(t, db, "npm", "demo")
	r1 := addRelease(t, db, p, "1.0.0", trove.Published)
	r2 := addRelease(t, db, p, "2.0.0-beta.1", trove.Published)
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.SetDistTag(ctx, p.ID, "latest", r1.ID); err != nil {
			return err
		}
		if err := tx.SetDistTag(ctx, p.ID, "beta", r1.ID); err != nil {
			return err
		}
		return tx.SetDistTag(ctx, p.ID, "beta", r2.ID)
	})
	got, err := db.DistTags(ctx, p.ID)
	want := []trove.Tag{{Tag: "beta", ReleaseID: r2.ID, Version: "2.0.0-beta.1"}, {Tag: "latest", ReleaseID: r1.ID, Version: "1.0.0"}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("DistTags = %v, %v; want %v", got, err, want)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.DeleteDistTag(ctx, p.ID, "beta") })
	err = db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeleteDistTag(ctx, p.ID, "beta") })
	if !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("DeleteDistTag(absent) = %v, want ErrNotFound", err)
	}
}

func testOwners(t *testing.T, db *meta.DB) {
	p := addPackage(t, db, "npm", "demo")
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.AddOwner(ctx, p.ID, bob.ID, now); err != nil {
			return err
		}
		if err := tx.AddOwner(ctx, p.ID, alice.ID, now); err != nil {
			return err
		}
		return tx.AddOwner(ctx, p.ID, alice.ID, now) // already one: no error
	})
	owners, err := db.Owners(ctx, p.ID)
	if err != nil || len(owners) != 2 || owners[0].Name != "alice" || owners[1].Name != "bob" {
		t.Fatalf("Owners = %v, %v; want alice, bob", owners, err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.RemoveOwner(ctx, p.ID, alice.ID) })
	if ok, err := db.IsOwner(ctx, p.ID, alice.ID); ok || err != nil {
		t.Errorf("IsOwner(removed owner) = %v, %v", ok, err)
	}
	err = db.Tx(ctx, func(tx *meta.Tx) error { return tx.RemoveOwner(ctx, p.ID, alice.ID) })
	if !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("RemoveOwner(not an owner) = %v, want ErrNotFound", err)
	}
	if ok, err := db.IsOwner(ctx, p.ID, bob.ID); !ok || err != nil {
		t.Errorf("IsOwner(bob) = %v, %v", ok, err)
	}
}

func testChanges(t *testing.T, db *meta.DB) {
	a := addPackage(t, db, "npm", "a")
	b := addPackage(t, db, "pypi", "b")
	var s1, s2 int64
	tx(t, db, func(tx *meta.Tx) (err error) {
		s1, err = tx.AddChange(ctx, a, "publish", now)
		return err
	})
	tx(t, db, func(tx *meta.Tx) (err error) {
		s2, err = tx.AddChange(ctx, b, "yank", now)
		return err
	})
	if s2 <= s1 {
		t.Errorf("serials %d then %d, want increasing", s1, s2)
	}
	cs, err := db.ChangesSince(ctx, s1, 10)
	if err != nil || len(cs) != 1 || cs[0].Name != "b" || cs[0].Kind != "yank" {
		t.Errorf("ChangesSince(%d) = %+v, %v; want the change of b", s1, cs, err)
	}
	if p, _ := db.Package(ctx, "npm", "a"); p.LastSerial != s1 {
		t.Errorf("LastSerial of a = %d, want %d", p.LastSerial, s1)
	}
	if n, _ := db.LastSerial(ctx); n != s2 {
		t.Errorf("LastSerial = %d, want %d", n, s2)
	}
}

func testSearch(t *testing.T, db *meta.DB) {
	for _, n := range []string{"left-pad", "leftpad_x", "right-pad", "hidden"} {
		p := addPackage(t, db, "npm", trove.Name(n))
		state := trove.Published
		if n == "hidden" {
			state = trove.Quarantined
		}
		addRelease(t, db, p, "1.0.0", state)
	}
	ps, total, err := db.SearchPackages(ctx, "npm", "pad", 1, 0, meta.Viewer{})
	if err != nil || total != 3 || len(ps) != 1 || ps[0].Name != "left-pad" {
		t.Errorf("SearchPackages(pad, limit 1) = %v, %d, %v; want left-pad of 3", ps, total, err)
	}
	if _, total, _ := db.SearchPackages(ctx, "npm", "_", 10, 0, meta.Viewer{}); total != 1 {
		t.Errorf("SearchPackages(_) matched %d, want 1: LIKE wildcards must be escaped", total)
	}
	if _, total, _ := db.SearchPackages(ctx, "npm", "hidden", 10, 0, meta.Viewer{}); total != 0 {
		t.Errorf("SearchPackages found a package with no visible release")
	}
	all, err := db.Packages(ctx, "npm", meta.Viewer{})
	if err != nil || len(all) != 3 {
		t.Errorf("Packages = %d, %v; want the 3 with visible releases", len(all), err)
	}
}

// testPrivateViewers: lists show a private package to the users holding a
// role on it (own grant, organisation membership, team grant) and to All,
// never to anyone else, nor in the lists shared by everyone.
func testPrivateViewers(t *testing.T, db *meta.DB) {
	owner, member, teamed, other := addUser(t, db, "owner"), addUser(t, db, "member"), addUser(t, db, "teamed"), addUser(t, db, "other")
	o := &trove.Org{Name: "acme", CreatedAt: now}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertOrg(ctx, o) })
	pub := addPackage(t, db, "npm", "pub-lib")
	own := addPackage(t, db, "npm", "own-lib")
	inOrg := &trove.Package{Ecosystem: "npm", Name: "@acme/org-lib", DisplayName: "@acme/org-lib", CreatedAt: now, OrgID: o.ID}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertPackage(ctx, inOrg) })
	for _, p := range []*trove.Package{pub, own, inOrg} {
		addRelease(t, db, p, "1.0.0", trove.Published)
	}
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.SetOrgMember(ctx, o.ID, member.ID, "reader", now); err != nil {
			return err
		}
		tm := &trove.Team{OrgID: o.ID, Name: "devs", CreatedAt: now}
		if err := tx.InsertTeam(ctx, tm); err != nil {
			return err
		}
		if err := tx.AddTeamMember(ctx, tm.ID, teamed.ID, now); err != nil {
			return err
		}
		if err := tx.SetTeamGrant(ctx, tm.ID, inOrg.ID, "reader", now); err != nil {
			return err
		}
		if err := tx.AddOwner(ctx, own.ID, owner.ID, now); err != nil {
			return err
		}
		for _, p := range []*trove.Package{own, inOrg} {
			if err := tx.SetPackagePrivate(ctx, p.ID, true); err != nil {
				return err
			}
		}
		return nil
	})
	for _, c := range []struct {
		name string
		v    meta.Viewer
		want string
	}{
		{"anonymous", meta.Viewer{}, "pub-lib"},
		{"other", meta.Viewer{UserID: other.ID}, "pub-lib"},
		{"owner", meta.Viewer{UserID: owner.ID}, "own-lib pub-lib"},
		{"member", meta.Viewer{UserID: member.ID}, "@acme/org-lib pub-lib"},
		{"teamed", meta.Viewer{UserID: teamed.ID}, "@acme/org-lib pub-lib"},
		{"all", meta.Viewer{All: true}, "@acme/org-lib own-lib pub-lib"},
	} {
		ps, total, err := db.SearchPackages(ctx, "npm", "lib", 10, 0, c.v)
		var names []string
		for _, p := range ps {
			names = append(names, string(p.Name))
		}
		if got := strings.Join(names, " "); err != nil || got != c.want || total != len(ps) {
			t.Errorf("%s: SearchPackages = %q (total %d), %v; want %q", c.name, got, total, err, c.want)
		}
		all, err := db.Packages(ctx, "npm", c.v)
		if err != nil || len(all) != len(ps) {
			t.Errorf("%s: Packages = %d packages, %v; want %d", c.name, len(all), err, len(ps))
		}
	}
	if p, err := db.Package(ctx, "npm", "own-lib"); err != nil || !p.Private {
		t.Errorf("Package(own-lib) = %+v, %v; want it private", p, err)
	}
	var listed []string
	if err := db.EachListing(ctx, func(l meta.Listing) error { listed = append(listed, string(l.Name)); return nil }); err != nil || len(listed) != 1 {
		t.Errorf("EachListing = %v, %v; want the public package only", listed, err)
	}
	if rs, err := db.RecentReleases(ctx, 10); err != nil || len(rs) != 1 {
		t.Errorf("RecentReleases = %d, %v; want the public package's only", len(rs), err)
	}
	if cs, err := db.Counts(ctx); err != nil || len(cs) != 1 || cs[0].Packages != 1 {
		t.Errorf("Counts = %+v, %v; want one public package", cs, err)
	}
}

func testLoginSessions(t *testing.T, db *meta.DB) {
	u := addUser(t, db, "alice")
	l := &meta.LoginSession{LoginHash: "l", DoneHash: "d", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertLoginSession(ctx, l) })
	tx(t, db, func(tx *meta.Tx) error { return tx.CompleteLoginSession(ctx, l.ID, u.ID, 3) })
	err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.CompleteLoginSession(ctx, l.ID, u.ID, 1) })
	if !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("second CompleteLoginSession = %v, want ErrNotFound", err)
	}
	got, err := db.LoginSessionByDone(ctx, "d")
	if err != nil || got.UserID != u.ID || got.AuthLevel != 3 {
		t.Errorf("LoginSessionByDone = %+v, %v; want alice at level 3", got, err)
	}
	// A new session removes expired ones.
	tx(t, db, func(tx *meta.Tx) error {
		return tx.InsertLoginSession(ctx, &meta.LoginSession{LoginHash: "l2", DoneHash: "d2", CreatedAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)})
	})
	if _, err := db.LoginSessionByLogin(ctx, "l"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("expired session still present: %v", err)
	}
}

func testNPMOTPChallenges(t *testing.T, db *meta.DB) {
	u := addUser(t, db, "alice")
	c := &meta.NPMOTPChallenge{AuthHash: "a", DoneHash: "d", UserID: u.ID, Operation: "PUT /@acme%2flib", Needs: 3, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertNPMOTPChallenge(ctx, c) })
	// Not issued before it is confirmed; confirmed and issued once.
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.IssueNPMOTP(ctx, c.ID, "o") }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("IssueNPMOTP before confirmation = %v, want ErrNotFound", err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.ConfirmNPMOTPChallenge(ctx, c.ID, 3) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.ConfirmNPMOTPChallenge(ctx, c.ID, 2) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("second ConfirmNPMOTPChallenge = %v, want ErrNotFound", err)
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.IssueNPMOTP(ctx, c.ID, "o") })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.IssueNPMOTP(ctx, c.ID, "o2") }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("second IssueNPMOTP = %v, want ErrNotFound", err)
	}
	for name, get := range map[string]func() (*meta.NPMOTPChallenge, error){
		"auth": func() (*meta.NPMOTPChallenge, error) { return db.NPMOTPChallengeByAuth(ctx, "a") },
		"done": func() (*meta.NPMOTPChallenge, error) { return db.NPMOTPChallengeByDone(ctx, "d") },
		"otp":  func() (*meta.NPMOTPChallenge, error) { return db.NPMOTPChallengeByOTP(ctx, "o") },
	} {
		got, err := get()
		if err != nil || got.ID != c.ID || got.UserID != u.ID || got.Operation != c.Operation || got.Needs != 3 || got.AuthLevel != 3 ||
			got.OTPHash != "o" || !got.ExpiresAt.Equal(c.ExpiresAt) {
			t.Errorf("NPMOTPChallenge by %s = %+v, %v", name, got, err)
		}
	}
	tx(t, db, func(tx *meta.Tx) error { return tx.DeleteNPMOTPChallenge(ctx, c.ID) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.DeleteNPMOTPChallenge(ctx, c.ID) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("second DeleteNPMOTPChallenge = %v, want ErrNotFound", err)
	}
	// A new challenge removes expired ones.
	old := &meta.NPMOTPChallenge{AuthHash: "a2", DoneHash: "d2", UserID: u.ID, Operation: "x", Needs: 2, CreatedAt: now, ExpiresAt: now.Add(time.Minute)}
	tx(t, db, func(tx *meta.Tx) error { return tx.InsertNPMOTPChallenge(ctx, old) })
	tx(t, db, func(tx *meta.Tx) error {
		return tx.InsertNPMOTPChallenge(ctx, &meta.NPMOTPChallenge{AuthHash: "a3", DoneHash: "d3", UserID: u.ID, Operation: "x", Needs: 2,
			CreatedAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)})
	})
	if _, err := db.NPMOTPChallengeByAuth(ctx, "a2"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("expired challenge still present: %v", err)
	}
}

func testTxRollback(t *testing.T, db *meta.DB) {
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx *meta.Tx) error {
		if err := tx.InsertUser(ctx, &trove.User{Name: "ghost", Email: "g", CreatedAt: now}, "h"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx = %v, want boom", err)
	}
	if _, err := db.UserByName(ctx, "ghost"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("row of a rolled-back transaction is visible: %v", err)
	}
}
