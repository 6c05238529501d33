//go:build e2e

package e2e

import (
	"bytes"
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

// previousRelease builds "the previous release" from this repository's
// history: the newest commit on HEAD's first-parent line whose schema is
// one migration behind this one (release N beside N+1), exported with
// git archive and built as it was. The test needs the history: a shallow
// clone fails it with the command that fetches the rest.
func previousRelease(t *testing.T) string {
	t.Helper()
	previous.once.Do(func() {
		previous.bin, previous.err = buildPrevious(meta.LatestSchema() - 1)
	})
	if previous.err != nil {
		t.Fatal(previous.err)
	}
	return previous.bin
}

// buildPrevious finds and builds the newest commit at schema version v.
func buildPrevious(v int64) (string, error) {
	const root = "../.."
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v (TestUpgrade builds the previous release from this repository's history)", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	shallow, err := git("rev-parse", "--is-shallow-repository")
	if err != nil {
		return "", err
	}
	if shallow == "true" {
		return "", fmt.Errorf("this clone is shallow, and TestUpgrade builds the previous release from its history: run git fetch --unshallow")
	}
	commits, err := git("log", "--first-parent", "--format=%H", "HEAD")
	if err != nil {
		return "", err
	}
	for _, c := range strings.Fields(commits) {
		files, err := git("ls-tree", "--name-only", c, "internal/meta/migrations/")
		if err != nil {
			return "", err
		}
		if !strings.Contains(files, fmt.Sprintf("/%05d_", v)) || strings.Contains(files, fmt.Sprintf("/%05d_", v+1)) {
			continue
		}
		src, err := os.MkdirTemp("", "trove-previous-")
		if err != nil {
			return "", err
		}
		bin := filepath.Join(filepath.Dir(troveBin), "trove-previous")
		script := fmt.Sprintf("git -C %s archive --format=tar %s | tar -x -C %s && cd %s && go build -o %s ./cmd/trove", root, c, src, src, bin)
		if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
			return "", fmt.Errorf("building the previous release (%s, schema %d): %v\n%s", c[:12], v, err, out)
		}
		os.RemoveAll(src)
		return bin, nil
	}
	return "", fmt.Errorf("no commit on HEAD's first-parent history is at schema version %d", v)
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
	// The previous release publishes with a token minted with a password
	// alone, which its MFA policy (if it has one) lets through only when
	// the operator lowered the policy: this release must still refuse it.
	old := startBin(t, prev, data, "TROVE_ACCOUNTS_PUBLISH_AUTH=password")
	if out, err := runCmd(t, "", nil, Password+"\n", prev, "admin", "user", "add", "alice", "--email", "alice@example.test", "--password-stdin", "--verified", "--data", data); err != nil {
		t.Fatalf("adding a user with the previous release: %v\n%s", err, out)
	}
	cmd := exec.Command(prev, "token", "create", "--user", "alice", "--scope", "npm:*", "--action", "read,publish", "--data", data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trove token create with the previous release: %v\n%s", err, stderr.String())
	}
	token := strings.TrimSpace(stdout.String())
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

	// That token proved no second factor: this release's default MFA
	// publish policy refuses it, saying what to do, and a token minted
	// with a second factor publishes.
	cur := startBin(t, troveBin, data, noAuto...)
	out = newNPM(t, cur, token).mustFail(writePackage(t, libFiles("1.0.1")), "publish", "--fetch-retries=0")
	wantOutput(t, "publishing with the previous release's token", out, "403", "/-/account/security")
	token = cur.Token(t, "alice", "npm:*", "read,publish")
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
