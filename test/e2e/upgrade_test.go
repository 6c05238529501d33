//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trove-dev/trove/internal/meta"
)

var previous struct {
	once sync.Once
	bin  string
	err  error
}

// previousRelease builds "the previous release": this trove linked to
// know one migration fewer (meta's schemaCap), as release N beside N+1.
func previousRelease(t *testing.T) string {
	t.Helper()
	previous.once.Do(func() {
		previous.bin = filepath.Join(filepath.Dir(troveBin), "trove-previous")
		flags := fmt.Sprintf("-X github.com/trove-dev/trove/internal/meta.schemaCap=%d", meta.LatestSchema()-1)
		out, err := exec.Command("go", "build", "-ldflags", flags, "-o", previous.bin, "../../cmd/trove").CombinedOutput()
		if err != nil {
			previous.err = fmt.Errorf("building the previous release: %v\n%s", err, out)
		}
	})
	if previous.err != nil {
		t.Fatal(previous.err)
	}
	return previous.bin
}

// startBin runs bin's trove serve on data.
func startBin(t *testing.T, bin, data string, env ...string) *Trove {
	t.Helper()
	tr := &Trove{Data: data, log: &syncBuffer{}, bin: bin}
	addr := freeAddr(t, "127.0.0.1")
	tr.URL = "http://" + addr
	tr.launch(t, http.DefaultClient, []string{"--listen", addr}, env)
	return tr
}

// TestUpgrade upgrades a database from the previous release to this one
// on both engines: with auto_migrate off this one refuses it with the
// command to run, trove migrate up migrates it, and the previous release
// still serves (reads and publishes) on the migrated database, saying the
// schema is newer.
func TestUpgrade(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testUpgrade(t) })
	t.Run("postgres", func(t *testing.T) { onPostgres(t); testUpgrade(t) })
}

func testUpgrade(t *testing.T) {
	prev := previousRelease(t)
	latest := meta.LatestSchema()
	data := t.TempDir()
	old := startBin(t, prev, data)
	if out, err := runCmd(t, "", nil, Password+"\n", prev, "admin", "user", "add", "alice", "--email", "alice@example.test", "--password-stdin", "--data", data); err != nil {
		t.Fatalf("adding a user with the previous release: %v\n%s", err, out)
	}
	token := strings.TrimSpace(must(t, "", nil, prev, "token", "create", "--user", "alice", "--scope", "npm:*", "--action", "read,publish", "--data", data))
	newNPM(t, old, token).must(writePackage(t, libFiles("1.0.0")), "publish")
	if err := old.Stop(20e9); err != nil {
		t.Fatal(err)
	}
	out := must(t, "", nil, prev, "migrate", "status", "--data", data)
	wantOutput(t, "the previous release's migrate status", out, fmt.Sprintf("at schema version %d; this trove knows versions up to %d", latest-1, latest-1), "up to date")

	noAuto := []string{"TROVE_DATABASE_AUTO_MIGRATE=false"}
	out = mustFail(t, "", noAuto, troveBin, "serve", "--data", data, "--listen", "127.0.0.1:0")
	wantOutput(t, "trove serve on the previous release's database", out,
		fmt.Sprintf("it is at version %d and lacks 1 migrations this trove needs", latest-1),
		"hint: database.auto_migrate is false: run trove migrate up --data "+data)
	if os.Getenv("TROVE_DATABASE_URL_FILE") != "" {
		wantOutput(t, "the hint on PostgreSQL", out, "with this environment's TROVE_DATABASE_DRIVER, TROVE_DATABASE_MAX_OPEN_CONNS, TROVE_DATABASE_URL_FILE")
	}
	out = must(t, "", nil, troveBin, "migrate", "status", "--data", data)
	wantOutput(t, "trove migrate status", out, "pending", "1 pending: run trove migrate up")
	out = must(t, "", nil, troveBin, "migrate", "up", "--data", data)
	wantOutput(t, "trove migrate up", out, "applied ", fmt.Sprintf("the database is at version %d", latest))

	cur := startBin(t, troveBin, data, noAuto...)
	npm := newNPM(t, cur, token)
	npm.must(writePackage(t, libFiles("1.0.1")), "publish")
	if err := cur.Stop(20e9); err != nil {
		t.Fatal(err)
	}

	// The previous release on the migrated database: it starts, says the
	// schema is newer, serves what the new release published, and publishes.
	back := startBin(t, prev, data)
	npm = newNPM(t, back, token)
	proj := writePackage(t, map[string]string{"package.json": `{"name":"proj","version":"1.0.0","private":true}`})
	npm.must(proj, "install", "@acme/lib@1.0.1")
	npm.must(writePackage(t, libFiles("1.0.2")), "publish")
	if !back.Logged("the database schema is newer than this trove") {
		t.Errorf("the previous release did not log that the schema is newer:\n%s", back.Log())
	}
	out = must(t, "", nil, prev, "migrate", "status", "--data", data)
	wantOutput(t, "the previous release's migrate status on the migrated database", out, "applied by a newer trove", "the database is newer than this trove")
}
