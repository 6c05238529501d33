//go:build e2e

package e2e

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trove-dev/trove/internal/meta/pgtest"
)

// onPostgres makes the trove commands the test runs (serve, admin, token)
// use a fresh PostgreSQL database, given by a connection string file as an
// operator would, and returns the database's password.
func onPostgres(t *testing.T) string {
	t.Helper()
	conn := pgtest.NewDatabase(t)
	u, err := url.Parse(conn)
	if err != nil {
		t.Fatal(err)
	}
	password, _ := u.User.Password()
	file := filepath.Join(t.TempDir(), "database-url")
	if err := os.WriteFile(file, []byte(conn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TROVE_DATABASE_DRIVER", "postgres")
	t.Setenv("TROVE_DATABASE_URL_FILE", file)
	t.Setenv("TROVE_DATABASE_MAX_OPEN_CONNS", "8")
	return password
}

// TestPostgresServe runs `trove serve` on PostgreSQL: npm publish and
// install, twine upload and pip install, as on SQLite, with nothing of
// the metadata on disk and the database password in no output.
func TestPostgresServe(t *testing.T) {
	password := onPostgres(t)
	tr := startTrove(t)

	npm := newNPM(t, tr, alice(t, tr))
	lib := writePackage(t, libFiles("1.0.0"))
	wantOutput(t, "npm publish @acme/lib", npm.must(lib, "publish"), "+ @acme/lib@1.0.0")
	app := writePackage(t, appFiles("1.0.0"))
	wantOutput(t, "npm publish app", npm.must(app, "publish"), "+ app@1.0.0")
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.freshCache()
	npm.must(proj, "install", "app")
	sameFiles(t, lib, filepath.Join(proj, "node_modules/@acme/lib"))
	if out := must(t, proj, nil, "node", filepath.Join(proj, "node_modules/.bin/app")); strings.TrimSpace(out) != "hello from @acme/lib" {
		t.Errorf("running the installed app printed %q", out)
	}

	token := tr.Token(t, "alice", "pypi:trove-e2e-*", "read,publish")
	publishLibAndApp(t, tr, token)
	target := t.TempDir()
	out, err := pip(t, tr, "install", "--target", target, pyApp)
	if err != nil {
		t.Fatalf("pip install %s: %v\n%s", pyApp, err, out)
	}
	run := must(t, "", []string{"PYTHONPATH=" + target}, "python3", "-c", "import trove_e2e_app; print(trove_e2e_app.main())")
	if strings.TrimSpace(run) != "app using lib 1.0.0" {
		t.Errorf("running the installed app: %q", run)
	}

	if _, err := os.Stat(filepath.Join(tr.Data, "trove.db")); !os.IsNotExist(err) {
		t.Errorf("a SQLite database was created beside PostgreSQL: %v", err)
	}
	if strings.Contains(tr.Log(), password) {
		t.Errorf("the server log shows the database password")
	}
}

// TestPostgresRefusesPasswordInConfig: a connection string with a
// password in the configuration itself is refused before anything starts,
// without showing the password.
func TestPostgresRefusesPasswordInConfig(t *testing.T) {
	const secret = "inline-secret-71c2"
	env := []string{"TROVE_DATABASE_DRIVER=postgres", "TROVE_DATABASE_URL=postgres://trove:" + secret + "@127.0.0.1:1/trove"}
	out, err := runCmd(t, "", env, "", troveBin, "serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	if err == nil {
		t.Fatalf("trove serve started with a password in database.url:\n%s", out)
	}
	if !strings.Contains(out, "database.url_file") || strings.Contains(out, secret) {
		t.Errorf("trove serve output does not point at database.url_file, or shows the password:\n%s", out)
	}
}
