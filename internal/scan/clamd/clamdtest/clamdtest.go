// Package clamdtest starts a real clamd for tests, with a signature
// database of its own: one body signature, [Signature], matching the
// harmless [Payload]. No downloaded signatures are needed (freshclam is
// never run). clamd is Debian's clamav-daemon, which scripts/test.sh
// installs; a test fails, naming it, when clamd is absent.
package clamdtest

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/scan/clamd"
)

// Signature is the name clamd reports for Payload.
const Signature = "Trove.Test.Payload-1"

// Payload is a harmless text the test database's signature matches,
// built from pieces so that no file of the source tree holds it whole.
var Payload = "TROVE-CLAMD-" + "TEST-PAYLOAD: " + "this text is a test signature, not malware"

// Binary is where Debian installs clamd.
const Binary = "/usr/sbin/clamd"

// Options change the server started.
type Options struct {
	// StreamMaxLength is clamd's limit on a scanned stream, in bytes; 0
	// for clamd's default (100 MiB).
	StreamMaxLength int64
}

// Start starts clamd listening on a Unix socket, waits until it answers
// PING, and stops it when the test ends. It reports how long clamd took
// to start with t.Log.
func Start(t testing.TB, o Options) *clamd.Client {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("clamd is not installed (%v): run scripts/test.sh, which installs Debian's clamav-daemon", err)
	}
	// A Unix socket path is at most 107 bytes: a short directory.
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{db, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A body signature (.ndb: name:target type:offset:hex), any file type.
	ndb := fmt.Sprintf("%s:0:*:%s\n", Signature, hex.EncodeToString([]byte(Payload)))
	if err := os.WriteFile(filepath.Join(db, "trove-test.ndb"), []byte(ndb), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "clamd.sock")
	conf := []string{
		"Foreground yes",
		"LocalSocket " + sock,
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + tmp,
		"LogFile " + filepath.Join(dir, "clamd.log"),
		"LogTime yes",
		"Bytecode no",
	}
	if o.StreamMaxLength > 0 {
		conf = append(conf, fmt.Sprintf("StreamMaxLength %d", o.StreamMaxLength))
	}
	if os.Geteuid() == 0 {
		conf = append(conf, "User root") // clamd drops root privileges to User, and Debian's "clamav" may not exist
	}
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Binary, "--config-file="+confPath)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting clamd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	c, err := clamd.New("unix:" + sock)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx)
		cancel()
		if err == nil {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
			t.Fatalf("clamd exited (%v):\n%s\n%s", err, out.String(), log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("clamd did not answer PING within a minute: %v\n%s", err, out.String())
		}
	}
	t.Logf("clamd answered PING %v after it was started", time.Since(start).Round(time.Millisecond))
	return c
}
