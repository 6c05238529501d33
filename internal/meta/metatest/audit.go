package metatest

import (
	"slices"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
)

// testAuditLog: audit entries are read back as written, filtered by actor,
// package, action (exact or a prefix), outcome, time and page, newest
// first. (That the engines refuse to change or delete one is
// internal/meta's TestAuditAppendOnly.)
func testAuditLog(t *testing.T, db *meta.DB) {
	alice, bob := addUser(t, db, "alice"), addUser(t, db, "bob")
	var es []*meta.AuditEntry
	for i, e := range []meta.AuditEntry{
		{UserID: alice.ID, UserName: "alice", Credential: "token a1", Action: "npm.publish", Target: "npm:demo@1.0.0", Ecosystem: "npm", Package: "demo", Outcome: "ok", Status: 200},
		{UserID: bob.ID, UserName: "bob", Credential: "token b1", Action: "npm.publish", Target: "npm:demo@1.1.0", Ecosystem: "npm", Package: "demo", Outcome: "denied", Status: 403},
		{UserID: alice.ID, UserName: "alice", Credential: "web session", Action: "web.account.tokens.create", Target: "/-/account/tokens", Outcome: "ok", Status: 303},
		{Credential: "anonymous", Action: "api.yank", Outcome: "unauthenticated", Status: 401, Count: 12, Detail: "12 requests from 2 clients"},
		{UserID: alice.ID, UserName: "alice", Credential: "token a1", Client: "192.0.2.7", Action: "api.yank", Target: "pypi:other@2.0", Ecosystem: "pypi", Package: "other", Outcome: "invalid", Status: 400, RequestID: "req-5"},
	} {
		e.At, e.Count = now.Add(time.Duration(i)*time.Minute), max(e.Count, 1)
		tx(t, db, func(tx *meta.Tx) error { return tx.InsertAuditEntry(ctx, &e) })
		es = append(es, &e)
	}
	got, err := db.AuditEntries(ctx, meta.AuditFilter{}, 10)
	if err != nil || len(got) != len(es) {
		t.Fatalf("AuditEntries() = %d entries, %v; want %d", len(got), err, len(es))
	}
	for i, e := range got {
		if want := es[len(es)-1-i]; *e != *want {
			t.Errorf("entry %d read back as %+v, want %+v", i, *e, *want)
		}
	}
	ids := func(list []*meta.AuditEntry) (out []int64) {
		for _, e := range list {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		f     meta.AuditFilter
		limit int
		want  []*meta.AuditEntry
	}{
		{meta.AuditFilter{}, 2, []*meta.AuditEntry{es[4], es[3]}},
		{meta.AuditFilter{Before: es[3].ID}, 2, []*meta.AuditEntry{es[2], es[1]}},
		{meta.AuditFilter{UserID: alice.ID}, 10, []*meta.AuditEntry{es[4], es[2], es[0]}},
		{meta.AuditFilter{Ecosystem: "npm", Package: "demo"}, 10, []*meta.AuditEntry{es[1], es[0]}},
		{meta.AuditFilter{Ecosystem: "pypi", Package: "demo"}, 10, nil},
		{meta.AuditFilter{Action: "api.yank"}, 10, []*meta.AuditEntry{es[4], es[3]}},
		{meta.AuditFilter{Action: "web."}, 10, []*meta.AuditEntry{es[2]}},
		{meta.AuditFilter{Action: "npm.pub"}, 10, nil},
		{meta.AuditFilter{Outcome: "denied"}, 10, []*meta.AuditEntry{es[1]}},
		{meta.AuditFilter{Since: es[1].At, Until: es[3].At}, 10, []*meta.AuditEntry{es[2], es[1]}},
		{meta.AuditFilter{UserID: bob.ID, Outcome: "ok"}, 10, nil},
	} {
		got, err := db.AuditEntries(ctx, tc.f, tc.limit)
		if err != nil || !slices.Equal(ids(got), ids(tc.want)) {
			t.Errorf("AuditEntries(%+v, %d) = %v, %v; want %v", tc.f, tc.limit, ids(got), err, ids(tc.want))
		}
	}
}
