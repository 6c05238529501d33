//go:build e2e

// Package e2e runs the real clients (npm, pip, twine, go) against a real
// `trove serve` process. It needs those clients installed; the project's
// test command (scripts/test.sh) installs them. A missing client fails the
// run: it is never skipped.
//
//	go test -tags e2e ./test/e2e/
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trove-dev/trove/internal/web/webtest"
)

// troveBin is the trove binary built for this run.
var troveBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var missing []string
	for _, tool := range []string{"go", "node", "npm", "twine", "pip", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: missing clients: %s; run scripts/test.sh, which installs them\n", strings.Join(missing, ", "))
		return 1
	}
	// The tests publish many packages with one token, which the worm
	// guard would hold after five; every server they start gets a limit
	// they stay under. TestNPMWormGuard sets its own (a variable given to
	// one server comes after these and wins).
	os.Setenv("TROVE_POLICY_BURST_PACKAGES", "10000")
	// Likewise, the tests add owners who publish at once, whose first
	// release the comparison with the previous release would hold;
	// TestNPMChangesHeld turns the rule on again.
	os.Setenv("TROVE_SCAN_CHANGES_NEW_MAINTAINER", "0")
	dir, err := os.MkdirTemp("", "trove-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	troveBin = filepath.Join(dir, "trove")
	build := exec.Command("go", "build", "-o", troveBin, "../../cmd/trove")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building trove:", err)
		return 1
	}
	code := m.Run()
	webtest.Close() // the browser of the tests that use one
	return code
}

// A Trove is a running `trove serve`.
type Trove struct {
	URL     string // http://127.0.0.1:PORT
	Data    string
	bin     string // the trove binary serving; "" for troveBin
	log     *syncBuffer
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	exitErr error         // how it exited, once done is closed
	killed  bool          // Kill ended it: its exit is no error

	totpMu sync.Mutex
	totp   map[string][]*totpFactor // the users' authenticators, by user
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startTrove runs `trove serve` on a free port with a fresh data directory
// and stops it when the test ends.
func startTrove(t testing.TB, env ...string) *Trove {
	t.Helper()
	return startTroveAt(t, t.TempDir(), env...)
}

// startTroveAt is startTrove on an existing data directory.
func startTroveAt(t testing.TB, data string, env ...string) *Trove {
	t.Helper()
	tr := &Trove{Data: data, log: &syncBuffer{}}
	addr := freeAddr(t, "127.0.0.1")
	tr.URL = "http://" + addr
	tr.launch(t, http.DefaultClient, []string{"--listen", addr}, env)
	return tr
}

// freeAddr returns host:port with a port free on host.
func freeAddr(t testing.TB, host string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// launch runs `trove serve` with args on tr's data directory, stops it
// when the test ends, and waits until tr.URL/readyz answers 200 through
// client.
func (tr *Trove) launch(t testing.TB, client *http.Client, args, env []string) {
	t.Helper()
	bin := troveBin
	if tr.bin != "" {
		bin = tr.bin
	}
	cmd := exec.Command(bin, append([]string{"serve", "--data", tr.Data}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = tr.log, tr.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tr.cmd, tr.done = cmd, make(chan struct{})
	go func() { tr.exitErr = cmd.Wait(); close(tr.done) }()
	t.Cleanup(func() {
		if err := tr.Stop(20 * time.Second); err != nil && !tr.killed {
			t.Errorf("stopping trove serve: %v", err)
		}
		if t.Failed() {
			t.Logf("trove serve log:\n%s", tr.log)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(tr.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-tr.done:
			t.Fatalf("trove serve exited: %v\n%s", tr.exitErr, tr.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("trove serve not ready after 20s (last: %v)\n%s", err, tr.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM (unless the process already exited) and waits up to
// timeout for it to exit. It returns how the process exited.
func (tr *Trove) Stop(timeout time.Duration) error {
	select {
	case <-tr.done:
		return tr.exitErr
	default:
	}
	tr.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-tr.done:
		return tr.exitErr
	case <-time.After(timeout):
		tr.cmd.Process.Kill()
		<-tr.done
		return fmt.Errorf("did not exit within %s of SIGTERM", timeout)
	}
}

// Kill ends the process with SIGKILL, as a crash or the OOM killer
// would, and waits for it to exit.
func (tr *Trove) Kill(t testing.TB) {
	t.Helper()
	tr.killed = true
	if err := tr.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-tr.done
}

// Log returns what the server has logged so far.
func (tr *Trove) Log() string { return tr.log.String() }

// Logged reports whether the server's log matches the regular expression
// pattern within ten seconds. trove serve writes its log through a buffer
// flushed every few moments, so a line about a request a client just saw
// answered may not be there yet; every check of the log after a request
// goes through here.
func (tr *Trove) Logged(pattern string) bool {
	re := regexp.MustCompile(pattern)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if re.MatchString(tr.Log()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// trove runs a trove subcommand on the server's data directory.
func (tr *Trove) trove(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := runCmd(t, "", nil, stdin, troveBin, append(args, "--data", tr.Data)...)
	if err != nil {
		t.Fatalf("trove %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Password is the password of users made by AddUser.
const Password = "correct horse battery staple"

// AddUser creates an account whose email address the operator vouches
// for (--verified): only verified users may publish.
func (tr *Trove) AddUser(t testing.TB, name string) {
	t.Helper()
	tr.trove(t, Password+"\n", "admin", "user", "add", name, "--email", name+"@example.test", "--password-stdin", "--verified")
}

// AddUnverifiedUser creates an account whose address is not verified: a
// verification link waits in the outbox.
func (tr *Trove) AddUnverifiedUser(t testing.TB, name string) {
	t.Helper()
	tr.trove(t, Password+"\n", "admin", "user", "add", name, "--email", name+"@example.test", "--password-stdin")
}

// Token creates an API token for user with the given scope patterns and
// actions (both comma-separated) and returns it. As real users with an
// authenticator app do, the user proves a second factor to mint it
// (--otp with a fresh TOTP code, see OTP), so the token is at level mfa,
// which the registry's default MFA policy asks of publishers.
func (tr *Trove) Token(t testing.TB, user, scope, actions string) string {
	t.Helper()
	var stdout bytes.Buffer
	cmd := exec.Command(troveBin, "token", "create", "--user", user, "--scope", scope, "--action", actions, "--data", tr.Data,
		"--otp", tr.OTP(t, user))
	cmd.Stdout = &stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trove token create: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// runCmd runs a command in dir with extra environment variables and
// returns its combined output. The command is killed after 5 minutes.
func runCmd(t testing.TB, dir string, env []string, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs a command that has to succeed and returns its output.
func must(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runCmd(t, dir, env, "", name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// mustFail runs a command that has to fail and returns its output.
func mustFail(t testing.TB, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runCmd(t, dir, env, "", name, args...)
	if err == nil {
		t.Fatalf("%s %s succeeded, want a failure\n%s", name, strings.Join(args, " "), out)
	}
	return out
}

// writeFiles writes files (path → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
