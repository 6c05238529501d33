package metatest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/translog"
	"github.com/trove-dev/trove/internal/trove"
)

// RunCopy checks that a dump of a database made by from loads into one
// made by to and dumps back to the same bytes: the dump format is engine
// neutral when from and to are different engines.
func RunCopy(t *testing.T, from, to func(t *testing.T) *meta.DB) {
	src := from(t)
	Fill(t, src)
	dst := to(t)
	Copy(t, src, dst)
	if a, b := DumpAll(t, src), DumpAll(t, dst); !bytes.Equal(a, b) {
		t.Errorf("the copy dumps differently from its source:\n%s", firstDiff(a, b))
	}
	checkSameReads(t, src, dst)
	checkNewIDs(t, dst)
}

// checkSameReads compares what the read API returns from both databases,
// so that a fault shared by dump and load (say, NULL read back as 0)
// cannot hide behind equal dumps.
func checkSameReads(t *testing.T, src, dst *meta.DB) {
	t.Helper()
	read := func(db *meta.DB) (out []any) {
		users, err := db.Users(ctx)
		out = append(out, users, err)
		for _, u := range users {
			toks, err := db.TokensOfUser(ctx, u.ID)
			out = append(out, toks, err)
		}
		p, err := db.Package(ctx, "npm", "demo")
		if err != nil {
			t.Fatal(err)
		}
		rels, err := db.Releases(ctx, p.ID)
		out = append(out, p, rels, err)
		files, err := db.Files(ctx, p.ID)
		owners, err2 := db.Owners(ctx, p.ID)
		tags, err3 := db.DistTags(ctx, p.ID)
		out = append(out, files, owners, tags, err, err2, err3)
		deps, err := db.Dependents(ctx, "npm", "left-pad", 10)
		changes, err2 := db.ChangesSince(ctx, 0, 10)
		unlocked, err3 := db.SignInUnlockedAt(ctx, "bob")
		login, err4 := db.LoginSessionByLogin(ctx, "l1")
		out = append(out, deps, changes, unlocked, login, err, err2, err3, err4)
		pol, err := db.PackagePolicy(ctx, p.ID)
		downloads, err2 := db.Downloads(ctx, p.ID, 0)
		out = append(out, pol, downloads, err, err2)
		web1, err := db.WebSessionByHash(ctx, "w1")
		web2, err2 := db.WebSessionByHash(ctx, "w2")
		out = append(out, web1, web2, err, err2)
		quarantined, err := db.QuarantinedReleases(ctx, 10)
		out = append(out, quarantined, err)
		pols, err := db.CurationPolicies(ctx, "", "")
		marks, err2 := db.CurationMarks(ctx, "", "")
		curators, err3 := db.Curators(ctx)
		out = append(out, pols, marks, curators, err, err2, err3)
		for _, u := range users {
			fs, err := db.Factors(ctx, u.ID)
			left, err2 := db.RecoveryCodesLeft(ctx, u.ID)
			handle, err3 := db.WebAuthnHandle(ctx, u.ID)
			out = append(out, fs, left, handle, err, err2, err3)
		}
		tree, err := translog.Recompute(ctx, db, 40)
		return append(out, tree, err)
	}
	if diff := cmp.Diff(read(src), read(dst), cmpopts.EquateErrors(), cmp.Comparer(bytes.Equal)); diff != "" {
		t.Errorf("the copy reads differently from its source (-source +copy):\n%s", diff)
	}
}

// Fill puts rows in every table a dump holds: NULLs and set values of the
// nullable columns, and a value of several MiB.
func Fill(t *testing.T, db *meta.DB) {
	t.Helper()
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	p := addPackage(t, db, "npm", "demo")
	r1 := addRelease(t, db, p, "1.0.0", trove.Published)
	big := &trove.Release{PackageID: p.ID, Version: "2.0.0", VersionKey: "2.0.0", State: trove.Quarantined,
		Metadata: []byte(`{"readme":"` + strings.Repeat("é\"\\\n\t<&>x", 128<<10) + `"}`), PublisherID: alice.ID, CreatedAt: now,
		AuthLevel: trove.AuthMFA, TokenID: 7}
	proxied := &trove.Package{Ecosystem: "npm", Name: "from-upstream", DisplayName: "from-upstream", CreatedAt: now, Upstream: true}
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.InsertRelease(ctx, big); err != nil {
			return err
		}
		if err := tx.PutMalwareRecord(ctx, &meta.MalwareRecord{ID: "MAL-2026-7", Origin: "osv", Summary: "Malicious code in évil (npm)", Imported: now,
			Versions: []meta.MalwareVersions{{Ecosystem: trove.NPM, Name: "evil", Spec: "*"}},
			Patterns: []meta.MalwarePattern{{Kind: meta.PatternSnippet, Value: "eval(atob('ZXZpbA=='))", Label: "é"}}}); err != nil {
			return err
		}
		if err := tx.InsertHold(ctx, &meta.Hold{ReleaseID: big.ID, Reason: "burst", Message: "held: more than 5 packages within 10m0s",
			Tags: []string{"latest"}, Lines: []string{"demo h1:x="}, At: now}); err != nil {
			return err
		}
		if err := tx.InsertScanResult(ctx, &meta.ScanResult{ReleaseID: big.ID, Files: []string{"demo-9.9.9.tgz"}, Scanners: []string{"secrets", "malware"},
			Verdict: "hold", Findings: []meta.ScanFinding{{Scanner: "malware", Rule: "install-download", File: "package/package.json", Line: 7,
				Message: "postinstall pipes a download into a shell", Verdict: "hold"}}, At: now}); err != nil {
			return err
		}
		if err := tx.InsertPackage(ctx, proxied); err != nil {
			return err
		}
		suspended := &trove.Release{PackageID: p.ID, Version: "0.5.0", VersionKey: "0.5.0", State: trove.Yanked, Metadata: []byte(`{}`),
			CreatedAt: now, PublishedAt: now}
		if err := tx.InsertRelease(ctx, suspended); err != nil {
			return err
		}
		if err := tx.Quarantine(ctx, suspended, "reported: \"é\" steals tokens", "root", now); err != nil {
			return err
		}
		if err := tx.InsertRelease(ctx, &trove.Release{PackageID: proxied.ID, Version: "1.0.0", VersionKey: "1.0.0", State: trove.Published,
			Metadata: []byte(`{}`), CreatedAt: now, PublishedAt: now, Source: "public"}); err != nil {
			return err
		}
		if err := tx.AddOwner(ctx, p.ID, alice.ID, now); err != nil {
			return err
		}
		if err := tx.SetRole(ctx, p.ID, bob.ID, "maintainer", now); err != nil {
			return err
		}
		if err := fillOrg(ctx, tx, alice, bob, now); err != nil {
			return err
		}
		if _, err := tx.InsertReport(ctx, &meta.Report{UserID: bob.ID, Ecosystem: "npm", Name: "demo", Version: "1.0.0", Category: "malicious",
			Reason: "postinstall: curl … | sh \"é\"", At: now}); err != nil {
			return err
		}
		if err := tx.PutAdvisory(ctx, &meta.Advisory{Ecosystem: "npm", Name: "demo", Version: "0.9.0", Summary: "steals tokens", Published: now, Modified: now}); err != nil {
			return err
		}
		if err := tx.SetDistTag(ctx, p.ID, "latest", r1.ID); err != nil {
			return err
		}
		if err := tx.InsertDependencies(ctx, r1.ID, "npm", []meta.Dependency{{Name: "left-pad", Constraint: "^1.0.0"}, {Name: "b"}}); err != nil {
			return err
		}
		if _, err := tx.AddChange(ctx, p, "publish", now); err != nil {
			return err
		}
		if err := tx.UnlockSignIn(ctx, "bob", now); err != nil {
			return err
		}
		if err := tx.PutUpstreamException(ctx, &meta.UpstreamException{Ecosystem: "npm", Name: "forked", Kind: meta.ExceptLocal,
			Reason: "our fork", CreatedBy: "alice", CreatedAt: now}); err != nil {
			return err
		}
		return fillLog(tx)
	})
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.InsertToken(ctx, &trove.Token{PublicID: "p1", Hash: "h1", UserID: alice.ID, Packages: []string{"*"}, Actions: []string{"publish"}, CreatedAt: now,
			AuthLevel: trove.AuthPhishingResistant}); err != nil {
			return err
		}
		if err := tx.InsertToken(ctx, &trove.Token{PublicID: "p2", Hash: "h2", UserID: bob.ID, Description: "ci", Packages: []string{"demo"},
			Actions: []string{"read"}, CreatedAt: now, ExpiresAt: now.AddDate(0, 1, 0)}); err != nil {
			return err
		}
		if _, err := tx.RevokeToken(ctx, bob.ID, "p2", now); err != nil {
			return err
		}
		if err := tx.InsertLoginSession(ctx, &meta.LoginSession{LoginHash: "l1", DoneHash: "d1", CreatedAt: now, ExpiresAt: now.Add(600e9)}); err != nil {
			return err
		}
		if err := fillCuration(tx, bob.ID, now); err != nil {
			return err
		}
		if err := fillPolicy(tx, p.ID, alice.ID); err != nil {
			return err
		}
		if err := fillMail(tx, alice, now); err != nil {
			return err
		}
		if err := fillRecovery(tx, bob.ID, now); err != nil {
			return err
		}
		if err := fillFactors(tx, alice.ID, now); err != nil {
			return err
		}
		if err := fillWeb(tx, alice.ID, bob.ID); err != nil {
			return err
		}
		return tx.SetPublicEmail(ctx, bob.ID, true, now)
	})
	if err := db.PutSumState(ctx, "sum.example.test/latest", []byte("go.sum database tree\n1\n")); err != nil {
		t.Fatal(err)
	}
	for _, table := range meta.DumpTables() {
		if n, err := db.CountRows(ctx, table); err != nil || n == 0 {
			t.Fatalf("Fill left table %s with %d rows (%v): the dump tests would not cover it", table, n, err)
		}
	}
}

func fillPolicy(tx *meta.Tx, pkg, by int64) error {
	if err := tx.SetPublishAuth(ctx, pkg, trove.AuthPhishingResistant); err != nil {
		return err
	}
	if err := tx.SetCriticalMark(ctx, pkg, true); err != nil {
		return err
	}
	if err := tx.SetTrustedOnly(ctx, pkg, true); err != nil {
		return err
	}
	if err := tx.InsertPublisher(ctx, &meta.Publisher{Ecosystem: trove.PyPI, Name: "tp", Kind: "github", Issuer: "github",
		Claims: `{"repository":"acme/tp","repository_owner_id":"1","workflow":"release.yml"}`, CreatedBy: by, AuthLevel: trove.AuthMFA,
		CreatedAt: time.UnixMicro(1_700_000_000_000_000).UTC()}); err != nil {
		return err
	}
	return tx.AddDownloads(ctx, []meta.DownloadCount{{PackageID: pkg, Day: 20000, Count: 7}, {PackageID: pkg, Day: 20001, Count: 1}})
}

func fillCuration(tx *meta.Tx, curator int64, now time.Time) error {
	if err := tx.SetCurationPolicy(ctx, meta.CurationPolicy{Ecosystem: "npm", Pattern: "@acme/*", Mode: "approved-only", MinAge: 72 * time.Hour,
		Why: "reviewed only", SetBy: "root", SetAt: now}); err != nil {
		return err
	}
	if err := tx.SetCurationPolicy(ctx, meta.CurationPolicy{Ecosystem: "npm", Pattern: "*", MinAge: -1, Scripts: "block", SetBy: "root", SetAt: now}); err != nil {
		return err
	}
	for _, m := range []meta.CurationMark{
		{Ecosystem: "npm", Name: "left-pad", Versions: ">=2 <3", Kind: "deny", Why: "breaks", SetBy: "root", SetAt: now},
		{Ecosystem: "npm", Name: "left-pad", Versions: "1.0.0", Kind: "tag", Tag: "approved", SetBy: "bob", SetAt: now},
	} {
		if err := tx.AddCurationMark(ctx, &m); err != nil {
			return err
		}
	}
	return tx.AddCurator(ctx, curator, "root", now)
}

func fillFactors(tx *meta.Tx, user int64, now time.Time) error {
	if err := tx.InsertFactor(ctx, &meta.Factor{UserID: user, Kind: meta.FactorTOTP, Name: "phone", CreatedAt: now, ConfirmedAt: now,
		Secret: "v1:c2VhbGVk", LastStep: 99}); err != nil {
		return err
	}
	if err := tx.InsertFactor(ctx, &meta.Factor{UserID: user, Kind: meta.FactorWebAuthn, Name: "key", CreatedAt: now, ConfirmedAt: now,
		LastUsedAt: now, CredentialID: "Y3JlZA", Credential: []byte(`{"id":"Y3JlZA"}`), CloneWarning: true}); err != nil {
		return err
	}
	if err := tx.SetWebAuthnHandle(ctx, user, "aGFuZGxl"); err != nil {
		return err
	}
	if err := tx.ReplaceRecoveryCodes(ctx, user, []string{"h1", "h2"}, now); err != nil {
		return err
	}
	if _, err := tx.ClaimFactorKey(ctx, "fp", now); err != nil {
		return err
	}
	return tx.UseRecoveryCode(ctx, user, "h1", now)
}

func fillRecovery(tx *meta.Tx, user int64, now time.Time) error {
	if err := tx.SetUserEmail(ctx, user, "bob@example.test"); err != nil {
		return err
	}
	if err := tx.PutEmailDomain(ctx, meta.EmailDomain{Domain: "example.test", Status: "alive", CheckedAt: now}); err != nil {
		return err
	}
	return tx.PutEmailDomain(ctx, meta.EmailDomain{Domain: "lapsed.test", Status: "dead", Reason: "no such host", CheckedAt: now})
}

func fillLog(tx *meta.Tx) error {
	for i := 0; i < 40; i++ {
		first, err := translog.Append(ctx, tx, []byte(fmt.Sprintf("record %d\n", i)))
		if err != nil {
			return err
		}
		if err := tx.IndexLogRecord(ctx, "npm", "demo", "1.0.0", "publish", first); err != nil {
			return err
		}
	}
	return nil
}

// DumpAll returns the dumps of every table of db, concatenated, read in
// one snapshot.
func DumpAll(t *testing.T, db *meta.DB) []byte {
	t.Helper()
	var b bytes.Buffer
	err := db.Snapshot(ctx, func(s *meta.Snapshot) error {
		for _, table := range meta.DumpTables() {
			if _, err := s.DumpTable(ctx, table, &b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Copy dumps every table of from and loads it into to, checking the row
// counts.
func Copy(t *testing.T, from, to *meta.DB) {
	t.Helper()
	dumps := map[string]*bytes.Buffer{}
	counts := map[string]int64{}
	err := from.Snapshot(ctx, func(s *meta.Snapshot) error {
		for _, table := range meta.DumpTables() {
			dumps[table] = &bytes.Buffer{}
			n, err := s.DumpTable(ctx, table, dumps[table])
			counts[table] = n
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tx(t, to, func(tx *meta.Tx) error {
		for _, table := range meta.DumpTables() {
			n, err := tx.LoadTable(ctx, table, dumps[table])
			if err != nil {
				return err
			}
			if n != counts[table] {
				return fmt.Errorf("loaded %d rows of %s, dumped %d", n, table, counts[table])
			}
		}
		return nil
	})
}

// checkNewIDs checks that rows inserted after a load take new ids.
func checkNewIDs(t *testing.T, db *meta.DB) {
	t.Helper()
	u := addUser(t, db, "carol")
	if u.ID <= 2 {
		t.Errorf("a user added after the load got id %d, which a loaded user has", u.ID)
	}
	p := addPackage(t, db, "pypi", "other")
	r := addRelease(t, db, p, "1.0", trove.Published)
	if p.ID <= 1 || r.ID <= 2 {
		t.Errorf("rows added after the load got ids package %d, release %d, which loaded rows have", p.ID, r.ID)
	}
}

func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d:\n  source %.300s\n  copy   %.300s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("source has %d lines, copy %d", len(la), len(lb))
}

func testDumpRoundTrip(t *testing.T, newDB func(t *testing.T) *meta.DB) {
	RunCopy(t, newDB, newDB)
}

// testDumpLoadErrors checks that bad dumps are refused with the reason.
func testDumpLoadErrors(t *testing.T, db *meta.DB) {
	addUser(t, db, "alice")
	good := `{"table":"users","columns":["id","name","email","password_hash","admin","created_at"]}` + "\n"
	for _, tc := range []struct{ name, table, dump, want string }{
		{"empty", "users", "", "empty"},
		{"other table", "users", `{"table":"tokens","columns":["id"]}` + "\n", `of table "tokens"`},
		{"unknown table", "sqlite_master", good, "not part of a dump"},
		{"unknown column", "users", `{"table":"users","columns":["id","shoe_size"]}` + "\n", `column "shoe_size"`},
		{"repeated column", "users", `{"table":"users","columns":["id","id"]}` + "\n", "twice"},
		{"too few values", "users", good + `[5,"x"]` + "\n", "2 values for 6 columns"},
		{"fraction", "users", good + `[5.5,"x","e","h",0,1]` + "\n", "not a 64-bit integer"},
		{"overflow", "users", good + `[99999999999999999999,"x","e","h",0,1]` + "\n", "not a 64-bit integer"},
		{"boolean", "users", good + `[5,"x","e","h",true,1]` + "\n", "not a dump value"},
		{"bad base64", "users", good + `[5,{"base64":"!"},"e","h",0,1]` + "\n", "illegal base64"},
		{"not an array", "users", good + `{"id":5}` + "\n", "JSON array"},
		{"existing row", "users", good + `[1,"x","e","h",0,1]` + "\n", "conflicts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Tx(ctx, func(tx *meta.Tx) error {
				_, err := tx.LoadTable(ctx, tc.table, strings.NewReader(tc.dump))
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadTable(%s) = %v, want an error containing %q", tc.name, err, tc.want)
			}
		})
	}
	if n, _ := db.CountRows(ctx, "users"); n != 1 {
		t.Errorf("after refused loads users has %d rows, want 1", n)
	}
}

// testSnapshotIsolation checks that a snapshot sees one state of every
// table however long it runs, while writes commit beside it.
func testSnapshotIsolation(t *testing.T, db *meta.DB) {
	addUser(t, db, "alice")
	err := db.Snapshot(ctx, func(s *meta.Snapshot) error {
		before, err := s.CountRows(ctx, "users")
		if err != nil {
			return err
		}
		addUser(t, db, "bob")
		tx(t, db, func(tx *meta.Tx) error { _, err := translog.Append(ctx, tx, []byte("after\n")); return err })
		after, err := s.CountRows(ctx, "users")
		if err != nil {
			return err
		}
		logSize, err := s.LogSize(ctx)
		if err != nil {
			return err
		}
		if before != 1 || after != 1 || logSize != 0 {
			t.Errorf("a snapshot saw users %d then %d and a log of %d records; want 1, 1 and 0 (the writes came after it began)", before, after, logSize)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountRows(ctx, "users"); n != 2 {
		t.Errorf("after the snapshot users has %d rows, want 2", n)
	}
}

// fillMail fills the tables of mail and security events.
func fillMail(tx *meta.Tx, u *trove.User, now time.Time) error {
	if err := tx.SetEmailVerified(ctx, u.ID, u.Email, now); err != nil {
		return err
	}
	if _, err := tx.EnqueueMail(ctx, &meta.OutboxMail{Recipient: u.Email, Subject: "é subject", Body: "body\nline", Kind: "test", CreatedAt: now}, 10); err != nil {
		return err
	}
	if err := tx.InsertSecurityEvent(ctx, &meta.SecurityEvent{UserID: u.ID, Kind: "token-created", Detail: `token "ci"`, Client: "192.0.2.1", At: now}); err != nil {
		return err
	}
	for _, e := range []*meta.AuditEntry{
		{At: now, UserID: u.ID, UserName: u.Name, Credential: "token tpub", Client: "192.0.2.1", Action: "npm.publish",
			Target: "npm:demo@1.0.0", Ecosystem: "npm", Package: "demo", Outcome: "ok", Status: 200, Count: 1, RequestID: "r-1"},
		{At: now, Credential: "anonymous", Action: "npm.publish", Outcome: "unauthenticated", Status: 401, Count: 7, Detail: "7 requests from 3 clients"},
	} {
		if err := tx.InsertAuditEntry(ctx, e); err != nil {
			return err
		}
	}
	if _, err := tx.SeeDevice(ctx, u.ID, "Firefox 192.0.2.0/24", now); err != nil {
		return err
	}
	if err := tx.InsertMailToken(ctx, &meta.MailToken{Hash: "m1", Kind: "verify", UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		return err
	}
	if err := tx.SetReminderSent(ctx, u.ID, "org:1", now); err != nil {
		return err
	}
	return tx.SetNotifyCursor(ctx, "release-mail", 1)
}

// fillOrg adds an organisation owned by alice, with a team, a package of
// its own granted to the team, and an invitation of bob.
func fillOrg(ctx context.Context, tx *meta.Tx, alice, bob *trove.User, now time.Time) error {
	o := &trove.Org{Name: "acme", CreatedAt: now}
	if err := tx.InsertOrg(ctx, o); err != nil {
		return err
	}
	if err := tx.SetOrgMember(ctx, o.ID, alice.ID, "owner", now); err != nil {
		return err
	}
	if err := tx.PutInvitation(ctx, o.ID, bob.ID, "maintainer", alice.ID, now, now.Add(7*24*time.Hour)); err != nil {
		return err
	}
	team := &trove.Team{OrgID: o.ID, Name: "core", CreatedAt: now}
	if err := tx.InsertTeam(ctx, team); err != nil {
		return err
	}
	if err := tx.AddTeamMember(ctx, team.ID, alice.ID, now); err != nil {
		return err
	}
	pkg := &trove.Package{Ecosystem: "npm", Name: "@acme/lib", DisplayName: "@acme/lib", Namespace: "@acme", CreatedAt: now, OrgID: o.ID}
	if err := tx.InsertPackage(ctx, pkg); err != nil {
		return err
	}
	return tx.SetTeamGrant(ctx, team.ID, pkg.ID, "maintainer", now)
}
