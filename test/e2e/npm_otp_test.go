//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// weakNPM returns an npm client of alice (who has an authenticator) with
// a token minted without a second factor, as npm login with a password
// gives: its writes are challenged for a one-time password.
func weakNPM(t *testing.T, tr *Trove) *npmClient {
	t.Helper()
	tr.AddUser(t, "alice")
	tr.OTP(t, "alice") // enrols her authenticator
	return newNPM(t, tr, passwordToken(t, tr, "alice", "read,publish,yank"))
}

// passwordToken mints a token for user without a second factor, as npm
// login with a password gives: level password. Only the command's
// standard output is the token.
func passwordToken(t *testing.T, tr *Trove, user, actions string) string {
	t.Helper()
	cmd := exec.Command(troveBin, "token", "create", "--user", user, "--scope", "*", "--action", actions, "--data", tr.Data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.Contains(stderr.String(), "level password") {
		t.Fatalf("trove token create without --otp: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// TestNPMOTP: the real npm against the OTP challenge. Without a code npm
// fails with EOTP and says to pass --otp; --otp=CODE publishes; a code
// already used is refused; dist-tag changes are challenged too.
func TestNPMOTP(t *testing.T) {
	tr := startTrove(t)
	npm := weakNPM(t, tr)
	lib := writePackage(t, libFiles("1.0.0"))
	wantOutput(t, "npm publish without a code", npm.mustFail(lib, "publish"), "EOTP", "--otp")
	code := tr.OTP(t, "alice")
	npm.must(lib, "publish", "--otp="+code)
	next := writePackage(t, libFiles("1.0.1"))
	wantOutput(t, "npm publish with a used code", npm.mustFail(next, "publish", "--otp="+code), "EOTP")
	npm.must(next, "publish", "--otp="+tr.OTP(t, "alice"))
	dir := t.TempDir()
	wantOutput(t, "npm dist-tag add without a code", npm.mustFail(dir, "dist-tag", "add", "@acme/lib@1.0.0", "stable"), "EOTP")
	npm.must(dir, "dist-tag", "add", "@acme/lib@1.0.0", "stable", "--otp="+tr.OTP(t, "alice"))
}

// TestNPMOTPPrompt: on a terminal npm asks for the code ("Enter OTP:")
// and retries the publish with it. script(1) gives npm a terminal.
func TestNPMOTPPrompt(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("script(1) is needed to give npm a terminal: apt-get install bsdutils (util-linux)")
	}
	tr := startTrove(t)
	npm := weakNPM(t, tr)
	lib := writePackage(t, libFiles("1.0.0"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	line := "npm " + strings.Join(npm.args("publish"), " ")
	cmd := exec.CommandContext(ctx, "script", "-qec", line, "/dev/null")
	cmd.Dir = lib
	cmd.Env = append(os.Environ(), npmEnv...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(40 * time.Second)
	for !strings.Contains(out.String(), "Enter OTP") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("npm never prompted for a one-time password:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stdin.Write([]byte(tr.OTP(t, "alice") + "\n"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("npm publish with the prompted code: %v\n%s", err, out)
	}
	wantOutput(t, "npm publish after the prompt", out.String(), "+ @acme/lib@1.0.0")
}
