//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/trove-dev/trove/internal/blob/s3blob/s3test"
	"github.com/trove-dev/trove/internal/meta/pgtest"
)

// targetConfig writes the configuration of a PostgreSQL database and an
// S3 bucket (secrets in files, as an operator would) with its own data
// directory, and returns its path, the database URL and the bucket.
func targetConfig(t *testing.T, srv *s3test.Server) (path, conn, bucket string) {
	t.Helper()
	conn = pgtest.NewDatabase(t)
	bucket = srv.Bucket(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"database-url": conn + "\n", "access": srv.AccessKey + "\n", "secret": srv.SecretKey + "\n"})
	path = filepath.Join(dir, "target.toml")
	writeFiles(t, dir, map[string]string{"target.toml": fmt.Sprintf(`data_dir = %q

[database]
driver = "postgres"
url_file = %q
max_open_conns = 8

[storage]
backend = "s3"

[storage.s3]
endpoint = %q
bucket = %q
prefix = "trove/"
path_style = true
access_key_file = %q
secret_key_file = %q
redirect = false
`, filepath.Join(dir, "data"), filepath.Join(dir, "database-url"), srv.Endpoint, bucket, filepath.Join(dir, "access"), filepath.Join(dir, "secret"))})
	return path, conn, bucket
}

// TestMigrateStorage moves an install the real clients published to
// (npm, twine, the go command's modules) from SQLite and files to
// PostgreSQL and S3, serves the copy and installs everything from it,
// audits its log, and then shows that a blob or a row changed in the copy
// is caught by the verification.
func TestMigrateStorage(t *testing.T) {
	tr := startTrove(t)
	npm := newNPM(t, tr, alice(t, tr))
	lib := writePackage(t, libFiles("1.0.0"))
	npm.must(lib, "publish")
	npm.must(writePackage(t, appFiles("1.0.0")), "publish")
	pyToken := tr.Token(t, "alice", "pypi:trove-e2e-*", "read,publish")
	publishLibAndApp(t, tr, pyToken)
	goToken := tr.Token(t, "alice", "go:example.test/*", "publish")
	liba, _, _ := goModules(t)
	must(t, "", []string{"TROVE_TOKEN=" + goToken, "TROVE_URL=" + tr.URL}, troveBin, "publish", "go", liba, "--module", goLibA, "--version", "v1.0.0")

	srv := s3test.Start(t)
	target, conn, bucket := targetConfig(t, srv)
	// The source's server still runs: refused.
	out := mustFail(t, "", []string{"TROVE_LISTEN=" + strings.TrimPrefix(tr.URL, "http://")}, troveBin, "migrate-storage", "--data", tr.Data, "--to", target)
	wantOutput(t, "migrate-storage beside a running server", out, "stop trove serve before migrating its storage")
	if err := tr.Stop(20e9); err != nil {
		t.Fatal(err)
	}

	out = must(t, "", nil, troveBin, "migrate-storage", "--data", tr.Data, "--to", target, "--dry-run")
	wantOutput(t, "migrate-storage --dry-run", out, "blobs: 10 referenced", "10 to copy", "state objects: 3 to copy", "table files: 8 rows to copy", "dry run: nothing was changed")
	if n := len(objects(t, srv, bucket, "trove/")); n != 0 {
		t.Errorf("the dry run wrote %d objects to the bucket", n)
	}
	out = must(t, "", nil, troveBin, "migrate-storage", "--data", tr.Data, "--to", target)
	wantOutput(t, "migrate-storage", out, "copied ", "signer.key", "table log_records: ", "on both sides, matching the signed checkpoint",
		" 0 problems", "verified: the target holds every row, blob and log record of the source")
	if strings.Contains(out, srv.SecretKey) || strings.Contains(out, passwordOf(t, conn)) {
		t.Errorf("migrate-storage showed a secret:\n%s", out)
	}
	// Again: the target is no longer empty.
	out = mustFail(t, "", nil, troveBin, "migrate-storage", "--data", tr.Data, "--to", target)
	wantOutput(t, "migrate-storage into a filled target", out, "the target database is not empty", "--verify-only")

	// migrate-storage does not carry the key sealing the TOTP secrets:
	// the operator copies it, as for any server sharing the database.
	copyFile(t, factorKey(tr.Data), factorKey(filepath.Join(filepath.Dir(target), "data")), 0o600)
	// The damage is checked before the copy is served: a served copy
	// legitimately moves on (its jobs queue the release notices the
	// source had not got to, downloads are counted).
	tamperTarget(t, tr.Data, target, conn, srv, bucket)
	served := serveTarget(t, target, liba)
	if err := served.Stop(20e9); err != nil {
		t.Fatal(err)
	}
}

// serveTarget serves the migrated install and installs everything from
// it with the real clients, then audits it.
func serveTarget(t *testing.T, target, liba string) *Trove {
	t.Helper()
	t.Setenv("TROVE_CONFIG", target)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	tr := startTroveAt(t, filepath.Join(filepath.Dir(target), "data"))
	npm := newNPM(t, tr, "")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.must(proj, "install", "app")
	if out := must(t, proj, nil, "node", filepath.Join(proj, "node_modules/.bin/app")); strings.TrimSpace(out) != "hello from @acme/lib" {
		t.Errorf("running the installed app printed %q", out)
	}
	pyTarget := t.TempDir()
	if out, err := pip(t, tr, "install", "--target", pyTarget, pyApp); err != nil || !strings.Contains(out, "Successfully installed") {
		t.Fatalf("pip install %s from the migrated install: %v\n%s", pyApp, err, out)
	}
	gosumdb := strings.TrimSpace(must(t, "", []string{"TROVE_URL=" + tr.URL}, troveBin, "log", "gosumdb", "--data", tr.Data))
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module example.test/dl\n\ngo 1.22\n"})
	out := must(t, dir, goEnv(t, tr, gosumdb, t.TempDir()), "go", "mod", "download", "-json", goLibA+"@v1.0.0")
	if !strings.Contains(out, `"Sum": "h1:`) || strings.Contains(out, `"Error"`) {
		t.Errorf("go mod download %s@v1.0.0 from the migrated install:\n%s", goLibA, out)
	}
	key := strings.TrimSpace(tr.trove(t, "", "log", "key"))
	out = must(t, "", nil, troveBin, "verify", "--url", tr.URL, "--key", key, "--state", t.TempDir(), "--audit")
	wantOutput(t, "trove verify --audit on the migrated install", out, "the root hash recomputed from every record matches the signed checkpoint")
	wantOutput(t, "trove fsck on the migrated install", tr.trove(t, "", "fsck"), "0 damaged or missing")
	return tr
}

// tamperTarget changes one blob, then one row, of the copy: the
// verification names each. Both are put back.
func tamperTarget(t *testing.T, source, target, conn string, srv *s3test.Server, bucket string) {
	t.Helper()
	verify := func() (string, error) {
		return runCmd(t, "", []string{"TROVE_CONFIG="}, "", troveBin, "migrate-storage", "--data", source, "--to", target, "--verify-only")
	}
	if out, err := verify(); err != nil {
		t.Fatalf("migrate-storage --verify-only before the damage: %v\n%s", err, out)
	}
	keys := objects(t, srv, bucket, "trove/sha256/")
	if len(keys) == 0 {
		t.Fatal("no blobs in the bucket")
	}
	d := filepath.Base(keys[0])
	obj := filepath.Join(srv.Dir, bucket, "trove", "sha256", d[:2], d)
	orig, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), orig...)
	bad[len(bad)/2] ^= 0x01
	if err := os.WriteFile(obj, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := verify()
	if err == nil || !strings.Contains(out, "mismatch: blob "+d+": its bytes in the target's blob store do not match its sha256") {
		t.Errorf("migrate-storage --verify-only after a blob changed: %v\n%s", err, out)
	}
	if err := os.WriteFile(obj, orig, 0o644); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("pgx", conn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var email string
	if err := db.QueryRowContext(context.Background(), `SELECT email FROM users WHERE name = 'alice'`).Scan(&email); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(context.Background(), `UPDATE users SET email = 'mallory@example.test' WHERE name = 'alice'`); err != nil {
		t.Fatal(err)
	}
	out, err = verify()
	if err == nil || !strings.Contains(out, "mismatch: table users: 1 rows in the source, 1 in the target; row 1 differs first") || !strings.Contains(out, "differs first") ||
		strings.Contains(out, "mismatch: blob") {
		t.Errorf("migrate-storage --verify-only after a row changed: %v\n%s", err, out)
	}
	if _, err := db.ExecContext(context.Background(), `UPDATE users SET email = $1 WHERE name = 'alice'`, email); err != nil {
		t.Fatal(err)
	}
}

func passwordOf(t *testing.T, conn string) string {
	t.Helper()
	_, rest, _ := strings.Cut(conn, "://")
	userinfo, _, _ := strings.Cut(rest, "@")
	_, pw, _ := strings.Cut(userinfo, ":")
	if pw == "" {
		t.Fatal("the test database URL has no password")
	}
	return pw
}
