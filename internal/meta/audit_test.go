package meta_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/meta"
	"github.com/trove-dev/trove/internal/meta/dbtest"
)

// TestAuditAppendOnly: on both engines, a trigger refuses every UPDATE
// and DELETE of the audit log, whatever code (or person at a SQL prompt
// with the server's role) asks, and the rows stay as they were.
func TestAuditAppendOnly(t *testing.T) {
	for _, eng := range dbtest.Engines {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := context.Background()
			db := eng.Open(t)
			e := &meta.AuditEntry{At: time.Now(), Credential: "token p1", Action: "npm.publish", Target: "npm:demo@1.0.0",
				Ecosystem: "npm", Package: "demo", Outcome: "denied", Status: 403, Count: 1}
			if err := db.Tx(ctx, func(tx *meta.Tx) error { return tx.InsertAuditEntry(ctx, e) }); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				`UPDATE audit_log SET outcome = 'ok'`,
				`UPDATE audit_log SET user_name = 'mallory' WHERE id = 1`,
				`DELETE FROM audit_log WHERE outcome = 'denied'`,
				`DELETE FROM audit_log`,
			} {
				if err := meta.Exec(db, stmt); err == nil || !strings.Contains(err.Error(), "the audit log is append-only") {
					t.Errorf("%s: %v, want the append-only refusal", stmt, err)
				}
			}
			got, err := db.AuditEntries(ctx, meta.AuditFilter{}, 10)
			if err != nil || len(got) != 1 || got[0].Outcome != "denied" || got[0].Target != e.Target {
				t.Errorf("after the refused changes the log holds %+v, %v; want the one entry unchanged", got, err)
			}
		})
	}
}
