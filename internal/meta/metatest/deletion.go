package metatest

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/trove"
)

// testEraseUser: an erased account keeps its row (its name stays taken)
// and nothing else that is personal or a credential: no row of any table
// names it, except its security events and audit entries (the
// administrators' record, unchanged: the audit log is append-only), the
// releases it published and the owners the registry removes itself.
func testEraseUser(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	for _, u := range []*trove.User{alice, bob} {
		tx(t, db, func(tx *meta.Tx) error {
			if u == alice {
				if err := fillFactors(tx, u.ID, now); err != nil {
					return err
				}
			} else if err := tx.InsertFactor(ctx, &meta.Factor{UserID: u.ID, Kind: meta.FactorTOTP, Name: "phone", CreatedAt: now, ConfirmedAt: now, Secret: "v1:eA"}); err != nil {
				return err
			} else if err := tx.ReplaceRecoveryCodes(ctx, u.ID, []string{"h1"}, now); err != nil {
				return err
			}
			if err := tx.InsertToken(ctx, &trove.Token{PublicID: "p" + u.Name, Hash: "h" + u.Name, UserID: u.ID, Packages: []string{"*"}, Actions: []string{"publish"}, CreatedAt: now}); err != nil {
				return err
			}
			if err := tx.InsertWebSession(ctx, &meta.WebSession{Hash: "s" + u.Name, UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), Level: trove.AuthPassword}); err != nil {
				return err
			}
			if err := tx.InsertLoginSession(ctx, &meta.LoginSession{LoginHash: "l" + u.Name, DoneHash: "d" + u.Name, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			l, err := tx.LoginSessionByLogin(ctx, "l"+u.Name)
			if err != nil {
				return err
			}
			if err := tx.CompleteLoginSession(ctx, l.ID, u.ID, 1); err != nil {
				return err
			}
			if err := tx.PutCeremony(ctx, meta.Ceremony{ID: "c" + u.Name, UserID: u.ID, Kind: "register", Data: []byte(`{}`), ExpiresAt: now.Add(time.Hour)}, now); err != nil {
				return err
			}
			if err := tx.InsertPasswordReset(ctx, meta.PasswordReset{TokenHash: "r" + u.Name, UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			if err := tx.SetEmailVerified(ctx, u.ID, u.Email, now); err != nil {
				return err
			}
			if _, err := tx.SeeDevice(ctx, u.ID, "firefox 192.0.2.0/24", now); err != nil {
				return err
			}
			if err := tx.AddCurator(ctx, u.ID, "root", now); err != nil {
				return err
			}
			if err := tx.InsertNPMOTPChallenge(ctx, &meta.NPMOTPChallenge{AuthHash: "oa" + u.Name, DoneHash: "od" + u.Name, UserID: u.ID,
				Operation: "PUT /npm/demo", Needs: 2, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			if err := tx.InsertMailToken(ctx, &meta.MailToken{Hash: "v" + u.Name, Kind: "verify", UserID: u.ID, Email: u.Email, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			if err := tx.InsertMailToken(ctx, &meta.MailToken{Hash: "i" + u.Name, Kind: "invite", Email: "friend@example.test", CreatedBy: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				return err
			}
			if err := tx.InsertAuditEntry(ctx, &meta.AuditEntry{At: now, UserID: u.ID, UserName: u.Name, Credential: "web session",
				Action: "web.account.tokens.create", Target: "/-/account/tokens", Outcome: "ok", Status: 303, Count: 1}); err != nil {
				return err
			}
			// Roles: a maintainer grant, an organisation of their own with a
			// team they are in, and an invitation to the other's.
			o := &trove.Org{Name: "org-" + u.Name, CreatedAt: now}
			if err := tx.InsertOrg(ctx, o); err != nil {
				return err
			}
			if err := tx.SetOrgMember(ctx, o.ID, u.ID, "owner", now); err != nil {
				return err
			}
			team := &trove.Team{OrgID: o.ID, Name: "core", CreatedAt: now}
			if err := tx.InsertTeam(ctx, team); err != nil {
				return err
			}
			if err := tx.AddTeamMember(ctx, team.ID, u.ID, now); err != nil {
				return err
			}
			p := &trove.Package{Ecosystem: "npm", Name: trove.Name("maintained-" + u.Name), DisplayName: "maintained-" + u.Name, CreatedAt: now}
			if err := tx.InsertPackage(ctx, p); err != nil {
				return err
			}
			if err := tx.SetRole(ctx, p.ID, u.ID, "maintainer", now); err != nil {
				return err
			}
			if u == bob {
				if err := tx.PutInvitation(ctx, o.ID, alice.ID, "reader", bob.ID, now, now.Add(time.Hour)); err != nil {
					return err
				}
			}
			return tx.InsertSecurityEvent(ctx, &meta.SecurityEvent{UserID: u.ID, Kind: "factor-added", At: now})
		})
	}
	before := DumpAll(t, db)
	tx(t, db, func(tx *meta.Tx) error { return tx.EraseUser(ctx, alice.ID, now) })
	if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.EraseUser(ctx, alice.ID, now) }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("erasing an erased user = %v, want ErrNotFound", err)
	}

	// npm OTP challenges are short-lived and left out of dumps: checked here.
	if _, err := db.NPMOTPChallengeByAuth(ctx, "oaalice"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("the erased user's npm OTP challenge: %v, want ErrNotFound", err)
	}
	if c, err := db.NPMOTPChallengeByAuth(ctx, "oabob"); err != nil || c.UserID != bob.ID {
		t.Errorf("bob's npm OTP challenge: %+v, %v", c, err)
	}
	u, err := db.UserByName(ctx, "alice")
	if err != nil || u.ID != alice.ID || !u.Deleted() || !u.DeletedAt.Equal(now) || u.Email != "" || u.Admin || u.PublicEmail {
		t.Errorf("UserByName(erased) = %+v, %v; want the tombstone", u, err)
	}
	if _, _, err := db.PasswordHash(ctx, "alice"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("PasswordHash(erased) = %v, want ErrNotFound", err)
	}
	if h, err := db.WebAuthnHandle(ctx, alice.ID); h != "" {
		t.Errorf("WebAuthnHandle(erased) = %q, %v", h, err)
	}
	if err := db.Tx(ctx, func(tx *meta.Tx) error {
		return tx.InsertUser(ctx, &trove.User{Name: "alice", Email: "new@example.test", CreatedAt: now}, "x")
	}); !errors.Is(err, meta.ErrConflict) {
		t.Errorf("a new user with the erased name = %v, want ErrConflict", err)
	}

	// No row anywhere names alice but those that may.
	keep := map[string]bool{"users": true, "security_events": true, "audit_log": true}
	dumps := dumpRows(t, DumpAll(t, db))
	for table, rows := range dumps {
		if keep[table] {
			continue
		}
		for _, row := range rows {
			for col, v := range row {
				if (col == "user_id" || col == "created_by") && v == float64(alice.ID) {
					t.Errorf("%s keeps a row of the erased user: %v", table, row)
				}
			}
		}
	}
	for _, row := range dumps["users"] {
		if row["id"] == float64(alice.ID) && (row["password_hash"] != "" || row["email"] != "" || row["webauthn_handle"] != nil) {
			t.Errorf("the erased user's row keeps %v", row)
		}
	}
	// Bob keeps everything he had.
	old := dumpRows(t, before)
	for table, rows := range old {
		for _, row := range rows {
			if (row["user_id"] == float64(bob.ID) || row["created_by"] == float64(bob.ID)) && !slices.ContainsFunc(dumps[table], func(r map[string]any) bool { return equalRows(r, row) }) {
				t.Errorf("%s lost a row of bob: %v", table, row)
			}
		}
	}
}

// dumpRows reads a dump into each table's rows, keyed by column.
func dumpRows(t *testing.T, dump []byte) map[string][]map[string]any {
	t.Helper()
	out := make(map[string][]map[string]any)
	var table string
	var cols []string
	for _, line := range bytes.Split(bytes.TrimSpace(dump), []byte("\n")) {
		if bytes.HasPrefix(line, []byte("{")) {
			var h struct {
				Table   string
				Columns []string
			}
			if err := json.Unmarshal(line, &h); err != nil {
				t.Fatal(err)
			}
			table, cols = h.Table, h.Columns
			out[table] = out[table][:0:0]
			continue
		}
		var vals []any
		if err := json.Unmarshal(line, &vals); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		row := make(map[string]any)
		for i, c := range cols {
			row[c] = vals[i]
		}
		out[table] = append(out[table], row)
	}
	return out
}

func equalRows(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// testActiveAdmins: administrators neither disabled nor deleted.
func testActiveAdmins(t *testing.T, db *meta.DB) {
	var ids []int64
	for _, name := range []string{"root", "ops", "gone", "off"} {
		u := &trove.User{Name: name, Email: name + "@example.test", Admin: true, CreatedAt: now}
		tx(t, db, func(tx *meta.Tx) error { return tx.InsertUser(ctx, u, "x") })
		ids = append(ids, u.ID)
	}
	addUser(t, db, "alice")
	tx(t, db, func(tx *meta.Tx) error {
		if err := tx.EraseUser(ctx, ids[2], now); err != nil {
			return err
		}
		return tx.SetUserDisabled(ctx, ids[3], now)
	})
	tx(t, db, func(tx *meta.Tx) error {
		got, err := tx.ActiveAdmins(ctx)
		if err != nil || !slices.Equal(got, ids[:2]) {
			t.Errorf("ActiveAdmins = %v, %v; want %v", got, err, ids[:2])
		}
		return nil
	})
}

// testSecurityEventFilters: the administrators' view filters by user and
// kind and pages back by id, newest first.
func testSecurityEventFilters(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	var evs []*meta.SecurityEvent
	for i, k := range []string{"lockout", "factor-added", "lockout", "token-created", "lockout"} {
		u := alice
		if i%2 == 1 {
			u = bob
		}
		e := &meta.SecurityEvent{UserID: u.ID, Kind: k, Detail: "d", Client: "192.0.2.1", At: now.Add(time.Duration(i) * time.Minute)}
		tx(t, db, func(tx *meta.Tx) error { return tx.InsertSecurityEvent(ctx, e) })
		evs = append(evs, e)
	}
	ids := func(es []*meta.SecurityEvent) (out []int64) {
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		f     meta.EventFilter
		limit int
		want  []int64
	}{
		{meta.EventFilter{}, 10, []int64{evs[4].ID, evs[3].ID, evs[2].ID, evs[1].ID, evs[0].ID}},
		{meta.EventFilter{}, 2, []int64{evs[4].ID, evs[3].ID}},
		{meta.EventFilter{Before: evs[3].ID}, 2, []int64{evs[2].ID, evs[1].ID}},
		{meta.EventFilter{UserID: bob.ID}, 10, []int64{evs[3].ID, evs[1].ID}},
		{meta.EventFilter{Kind: "lockout"}, 10, []int64{evs[4].ID, evs[2].ID, evs[0].ID}},
		{meta.EventFilter{UserID: alice.ID, Kind: "lockout", Before: evs[4].ID}, 10, []int64{evs[2].ID, evs[0].ID}},
		{meta.EventFilter{UserID: bob.ID, Kind: "lockout"}, 10, nil},
	} {
		got, err := db.RecentSecurityEvents(ctx, tc.f, tc.limit)
		if err != nil || !slices.Equal(ids(got), tc.want) {
			t.Errorf("RecentSecurityEvents(%+v, %d) = %v, %v; want %v", tc.f, tc.limit, ids(got), err, tc.want)
		}
	}
	got, _ := db.RecentSecurityEvents(ctx, meta.EventFilter{}, 1)
	if got[0].UserName != "alice" || got[0].Client != "192.0.2.1" || !got[0].At.Equal(evs[4].At) {
		t.Errorf("newest event = %+v", got[0])
	}
}
