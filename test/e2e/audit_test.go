//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAuditWithRealClients: npm's publishes, allowed and refused, are in
// the audit log with the right target and outcome; trove audit shows an
// account its own entries and trove admin audit the operator everyone's;
// and no token's secret is anywhere in the database.
func TestAuditWithRealClients(t *testing.T) {
	tr := startTrove(t)
	aliceTok := alice(t, tr)
	tr.AddUser(t, "bob")
	bobTok := tr.Token(t, "bob", "*", "read,publish")
	auditTok := tr.Token(t, "alice", "*", "tokens")

	newNPM(t, tr, aliceTok).must(writePackage(t, libFiles("1.0.0")), "publish")
	wantOutput(t, "bob's publish", newNPM(t, tr, bobTok).mustFail(writePackage(t, libFiles("1.1.0")), "publish"), "403")
	newNPM(t, tr, "trove_NotAToken").mustFail(writePackage(t, libFiles("1.2.0")), "publish")

	out := must(t, "", []string{"TROVE_TOKEN=" + auditTok}, troveBin, "audit", "--url", tr.URL)
	wantOutput(t, "trove audit", out, "npm.publish", "npm:@acme/lib@1.0.0", "alice", "ok 200")
	if strings.Contains(out, "bob") || strings.Contains(out, "1.1.0") {
		t.Errorf("alice's trove audit shows bob's entry:\n%s", out)
	}
	wantOutput(t, "trove audit --user bob as alice", mustFail(t, "", []string{"TROVE_TOKEN=" + auditTok}, troveBin, "audit", "--user", "bob", "--url", tr.URL), "403")
	wantOutput(t, "trove audit without the tokens action", mustFail(t, "", []string{"TROVE_TOKEN=" + bobTok}, troveBin, "audit", "--url", tr.URL), "403", "tokens action")

	out = tr.trove(t, "", "admin", "audit", "--outcome", "denied")
	wantOutput(t, "trove admin audit --outcome denied", out, "bob", "npm:@acme/lib@1.1.0", "denied 403")
	if strings.Contains(out, "alice") {
		t.Errorf("trove admin audit --outcome denied shows alice's publish:\n%s", out)
	}
	wantOutput(t, "trove admin audit --package", tr.trove(t, "", "admin", "audit", "--package", "npm:@acme/lib", "--json"),
		`"user":"alice"`, `"user":"bob"`)

	// The refused anonymous publish is counted, and written when the
	// server stops.
	if err := tr.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, "trove admin audit --outcome unauthenticated", tr.trove(t, "", "admin", "audit", "--outcome", "unauthenticated"),
		"anonymous", "npm.publish")

	files, _ := filepath.Glob(filepath.Join(tr.Data, "trove.db*"))
	if len(files) == 0 {
		t.Fatal("no database files in the data directory")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{aliceTok, bobTok, auditTok} {
			if strings.Contains(string(b), strings.TrimPrefix(tok, "trove_")) {
				t.Errorf("%s holds a token's secret", f)
			}
		}
	}
}
